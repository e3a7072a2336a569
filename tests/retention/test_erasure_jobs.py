"""Erasure jobs across real stores (retention, breach, subject-rights) on one broker."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest_asyncio

from breach.main import create_app as create_breach
from breach.settings import Settings as BreachSettings
from devstack.testing import Suite, app_client, auth, wait_for
from privacy_kit.db import create_pool, migrate
from retention.erasure import service
from retention.erasure.certificate import subject_hash, verify
from retention.erasure.models import ErasureJobCreate
from retention.main import MIGRATIONS
from retention.main import create_app as create_retention
from retention.settings import Settings as RetentionSettings
from subject_rights.main import create_app as create_subject_rights
from subject_rights.settings import Settings as SubjectRightsSettings

DPO = auth("dpo")
STORES = ("retention", "breach", "subject-rights")
SECRET = RetentionSettings().certificate_secret


class Stores:
    def __init__(self) -> None:
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.dsns: dict[str, str] = {}

    @property
    def retention(self) -> httpx.AsyncClient:
        return self.clients["retention"]


@pytest_asyncio.fixture(scope="module")
async def stores(module_suite: Suite):
    suite = module_suite
    s = Stores()
    async with contextlib.AsyncExitStack() as stack:
        for name, factory, settings_cls in (
            ("retention", create_retention, RetentionSettings),
            ("breach", create_breach, BreachSettings),
            ("subject-rights", create_subject_rights, SubjectRightsSettings),
        ):
            s.dsns[name] = await suite.new_database(name)
            extra = {"expected_stores": list(STORES)} if name == "retention" else {}
            app = factory(settings_cls(**{**suite.env(s.dsns[name], name), **extra}))
            s.clients[name] = await stack.enter_async_context(app_client(app))

        async def all_known() -> bool:
            body = (await s.retention.get("/healthz")).json()
            return set(body.get("stores_known", [])) == {"retention", "breach", "subject-rights"}

        await wait_for(all_known, timeout=30, what="every store's inventory at retention")
        yield s


async def _rows(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_o25_subject_erasure_reaches_every_store_and_issues_a_certificate(stores: Stores) -> None:
    subject, tenant = str(uuid.uuid4()), str(uuid.uuid4())
    participant = auth("participant", tenant=tenant, sub=subject)
    filed = await stores.clients["subject-rights"].post(
        "/v1/subject-requests", json={"kind": "erasure", "details": "Please forget me"},
        headers=participant)
    assert filed.status_code == 201, filed.text
    breach = await stores.clients["breach"].post("/v1/breaches", headers=DPO, json={
        "title": "Lost laptop", "facts": "A laptop with an export was lost.",
        "discovered_at": "2026-11-20T10:00:00Z",
        "affected_subjects": [{"subject_id": subject, "tenant_id": tenant}]})
    assert breach.status_code == 201, breach.text

    created = await stores.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": subject, "reason": "request of the participant"})
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["status"] == "pending"
    assert set(job["stores"]) == {"retention", "breach", "subject-rights"}

    async def completed() -> dict | None:
        body = (await stores.retention.get(f"/v1/erasure-jobs/{job['id']}", headers=DPO)).json()
        return body if body["status"] == "completed" else None

    done = await wait_for(completed, what="the erasure job to complete")
    assert {s: v["status"] for s, v in done["stores"].items()} == dict.fromkeys(done["stores"], "completed")
    assert done["stores"]["breach"]["erased"] == 1
    assert done["stores"]["subject-rights"]["erased"] == 1
    certificate = done["certificate"]
    assert certificate["subject_hash"] == subject_hash(SECRET, subject)
    assert verify(SECRET, certificate)
    assert subject not in str(certificate)
    assert not verify(SECRET, {**certificate, "stores": {}})  # tampering shows

    assert await _rows(stores.dsns["breach"],
                       "SELECT * FROM breach_affected_subject WHERE subject_id = $1", subject) == []
    assert await _rows(stores.dsns["subject-rights"],
                       "SELECT * FROM subject_request WHERE subject_id = $1", subject) == []
    assert await _rows(stores.dsns["retention"],
                       "SELECT * FROM erasure_job WHERE subject_id = $1", subject) == []
    # The breach register keeps its count per tenant (O26) without naming the person.
    kept = await stores.clients["breach"].get(f"/v1/breaches/{breach.json()['id']}", headers=DPO)
    assert kept.json()["notifications"][0]["affected_count"] == 1


async def test_o17_a_subject_under_legal_hold_is_not_erased_until_released(stores: Stores) -> None:
    subject = str(uuid.uuid4())
    hold = await stores.retention.post("/v1/legal-holds", headers=DPO,
                                       json={"subject_id": subject, "reason": "claim 2026-114"})
    assert hold.status_code == 201, hold.text
    refused = await stores.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": subject, "reason": "request"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "legal_hold"

    released = await stores.retention.post(f"/v1/legal-holds/{hold.json()['id']}/release", headers=DPO)
    assert released.status_code == 200
    accepted = await stores.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": subject, "reason": "request"})
    assert accepted.status_code == 202


async def test_erasure_job_input_is_checked_with_clear_messages(stores: Stores) -> None:
    missing = await stores.retention.post("/v1/erasure-jobs", headers=DPO,
                                          json={"scope": "subject", "reason": "x"})
    assert missing.status_code == 422
    assert "subject_id" in missing.json()["error"]["message"]
    wrong_scope = await stores.retention.post("/v1/erasure-jobs", headers=DPO,
                                              json={"scope": "everything", "reason": "x"})
    assert wrong_scope.status_code == 422
    not_json = await stores.retention.post("/v1/erasure-jobs", headers={**DPO, "content-type": "application/json"},
                                           content=b"{not json")
    assert not_json.status_code == 422
    assert not_json.json()["error"]["message"].startswith("body: is not valid JSON near character")
    unknown = await stores.retention.get(f"/v1/erasure-jobs/{uuid.uuid4()}", headers=DPO)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "There is no erasure job with this id."
    participant = await stores.retention.post(
        "/v1/erasure-jobs", headers=auth("participant", tenant="t"),
        json={"scope": "subject", "subject_id": "x", "reason": "x"})
    assert participant.status_code == 403


async def test_o29_processing_register_merges_every_store_inventory(stores: Stores) -> None:
    register = (await stores.retention.get("/v1/processing-register", headers=DPO)).json()
    by_store = {s["store"]: s for s in register["stores"]}
    assert set(by_store) == {"retention", "breach", "subject-rights"}
    for store in by_store.values():
        for category in store["categories"]:
            assert category["purpose"] and category["legal_basis"] and category["retention_rule"]


async def test_no_job_before_any_store_is_known(suite: Suite) -> None:
    dsn = await suite.new_database("retention-empty")
    settings = RetentionSettings(**{**suite.env(dsn, "retention"), "kafka_enabled": False,
                                    "expected_stores": []})
    async with app_client(create_retention(settings)) as client:
        answer = await client.post("/v1/erasure-jobs", headers=DPO, json={
            "scope": "subject", "subject_id": "s", "reason": "x"})
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "no_stores_known"


async def test_o25_answers_handled_at_once_complete_the_job_exactly_once(module_suite: Suite) -> None:
    """Acknowledgements of one job handled concurrently (as by consumers of several partitions)
    are counted one after the other: the job completes once, with one certificate event."""
    dsn = await module_suite.new_database("ack")
    await migrate(dsn, MIGRATIONS)
    pool = await create_pool(dsn, min_size=6, max_size=6)
    stores = [f"store-{n}" for n in range(6)]
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO store_inventory (store, categories, personal) VALUES ($1, '[]', true)",
                [(s,) for s in stores])
            job_id = await service.create_job(
                conn=conn, request=ErasureJobCreate(scope="subject", subject_id="s-1", reason="test"),
                requested_by="test", trigger="test", secret=SECRET,
                deadline=timedelta(minutes=5), source="retention")

        async def answer(store: str) -> bool:
            async with pool.acquire() as conn, conn.transaction():
                return await service.acknowledge(conn=conn, job_id=job_id, store=store,
                                                 counts={"x": 1}, erased=1, secret=SECRET,
                                                 source="retention")

        completions = await asyncio.gather(*(answer(s) for s in stores))
        assert sorted(completions) == [False] * 5 + [True]
        async with pool.acquire() as conn:
            job = await conn.fetchrow("SELECT status, certificate FROM erasure_job WHERE id = $1",
                                      job_id)
            done_events = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE envelope->>'type' = 'erasure.job_completed'")
        assert job["status"] == "completed" and job["certificate"] is not None
        assert done_events == 1
        # A repeated answer after completion changes nothing.
        assert await answer(stores[0]) is False
    finally:
        await pool.close()
