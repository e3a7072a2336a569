"""Erasure jobs across real stores (retention, breach, subject-rights) on one broker."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio

from breach.main import create_app as create_breach
from breach.settings import Settings as BreachSettings
from devstack.infra import free_port
from devstack.testing import Suite, app_client, auth, wait_for
from privacy_kit.db import create_pool, migrate
from retention.erasure import service
from retention.erasure.certificate import NotGenuine, subject_hash, verify
from retention.erasure.models import ErasureJobCreate
from retention.main import MIGRATIONS
from retention.main import create_app as create_retention
from retention.settings import Settings as RetentionSettings
from subject_rights.main import create_app as create_subject_rights
from subject_rights.settings import Settings as SubjectRightsSettings

DPO = auth("dpo")
STORES = ("retention", "breach", "subject-rights")
SETTINGS = RetentionSettings()
SECRET = SETTINGS.certificate_secret
PUBLIC_KEY = SETTINGS.signing_key.public_key()


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
            extra: dict[str, object] = (
                {"expected_stores": list(STORES)} if name == "retention" else {})
            # No training-records here: breach keeps its subjects pending (never a stray :8001).
            app = factory(settings_cls(**{**suite.env(s.dsns[name], name), **extra},
                                       training_records_url=f"http://127.0.0.1:{free_port()}"))
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
        "title": "Lost laptop", "description": "A laptop with an export was lost.",
        "discovered_at": "2026-11-20T10:00:00Z", "affected_subject_ids": [subject]})
    assert breach.status_code == 201, breach.text

    created = await stores.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": subject, "reason_code": "subject_request",
        "reference": "SR-2026-0114", "reason": "Jan Jansen asked by phone to be forgotten"})
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["status"] == "pending"
    assert job["reason"] == "Jan Jansen asked by phone to be forgotten"
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
    assert verify(certificate, [PUBLIC_KEY]) == PUBLIC_KEY
    assert certificate["signature_algorithm"] == "Ed25519"
    assert (certificate["reason_code"], certificate["reference"]) == ("subject_request", "SR-2026-0114")
    # No personal data: neither the id nor the free-text reason (which names the person).
    assert subject not in str(certificate)
    assert "Jan" not in str(certificate) and "reason" not in certificate
    assert done["reason"] is None  # the free text goes when the job completes
    with pytest.raises(NotGenuine):
        verify({**certificate, "stores": {}}, [PUBLIC_KEY])  # tampering shows

    assert await _rows(stores.dsns["breach"],
                       "SELECT * FROM breach_affected_subject WHERE subject_id = $1", subject) == []
    assert await _rows(stores.dsns["subject-rights"],
                       "SELECT * FROM subject_request WHERE subject_id = $1", subject) == []
    assert await _rows(stores.dsns["retention"],
                       "SELECT * FROM erasure_job WHERE subject_id = $1", subject) == []
    # The breach register keeps its count (O26) without naming the person.
    kept = await stores.clients["breach"].get(f"/v1/breaches/{breach.json()['id']}", headers=DPO)
    assert kept.json()["affected_subjects"] == 1 and kept.json()["pending_subjects"] == 0


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
                                                 counts={"x": 1}, erased=1,
                                                 keys=SETTINGS.proof_keys, source="retention")

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


async def test_o25_a_store_behind_its_queue_is_not_asked_again_one_that_lost_a_request_is(
    module_suite: Suite,
) -> None:
    """Past the first pause, a missing store is asked again when it answered newer jobs but not
    this one (the request was lost) or nothing lately (it may be down); not while it is still
    answering older jobs (behind: asking again would only lengthen its queue). Answers that
    completed their job count as answers too."""
    dsn = await module_suite.new_database("reask")
    await migrate(dsn, MIGRATIONS)
    conn = await asyncpg.connect(dsn)
    first_after = timedelta(seconds=10)
    try:
        await conn.executemany(
            "INSERT INTO store_inventory (store, categories, personal) VALUES ($1, '[]', true)",
            [("slow",), ("lossy",), ("down",)])

        async def job(age_s: int, store: str) -> uuid.UUID:
            async with conn.transaction():
                job_id = await service.create_job(
                    conn=conn, request=ErasureJobCreate(scope="subject", subject_id=f"s-{age_s}",
                                                        reason="test"),
                    requested_by="test", trigger="test", secret=SECRET,
                    deadline=timedelta(minutes=5), source="retention")
            # Only `store` was asked; made `age_s` seconds ago.
            await conn.execute("DELETE FROM erasure_job_store WHERE job_id = $1 AND store <> $2",
                               job_id, store)
            await conn.execute("""UPDATE erasure_job SET created_at = now() - make_interval(
                                      secs => $2), deadline_at = deadline_at - make_interval(
                                      secs => $2) WHERE id = $1""", job_id, age_s)
            return job_id

        async def answer(job_id: uuid.UUID) -> None:
            async with conn.transaction():
                await service.acknowledge(conn=conn, job_id=job_id,
                                          store=await conn.fetchval(
                                              "SELECT store FROM erasure_job_store "
                                              "WHERE job_id = $1", job_id),
                                          counts={}, erased=0, keys=SETTINGS.proof_keys,
                                          source="retention")

        # `slow` answers a job older than the overdue one: it is behind.
        await answer(await job(40, "slow"))
        slow_overdue = await job(20, "slow")
        # `lossy` answers (and so completes) a job made well after the overdue one.
        lossy_overdue = await job(30, "lossy")
        await answer(await job(15, "lossy"))
        # `down` has answered nothing lately.
        down_overdue = await job(20, "down")
        async with conn.transaction():
            asked = await service.reemit_overdue(conn=conn, deadline=timedelta(minutes=5),
                                                 source="retention", first_after=first_after)
        assert asked == 2
        reemitted = dict(await conn.fetch(
            "SELECT id, reemitted FROM erasure_job WHERE id = ANY($1::uuid[])",
            [slow_overdue, lossy_overdue, down_overdue]))
        assert reemitted == {slow_overdue: 0, lossy_overdue: 1, down_overdue: 1}
    finally:
        await conn.close()
