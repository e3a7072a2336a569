"""End to end, over HTTP through the gateway, with every service a real process (O25)."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import jsonschema
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from opentelemetry.instrumentation.utils import suppress_http_instrumentation

from devstack.infra import free_port
from devstack.stack import GATEWAY, STORES, Stack
from devstack.testing import auth, read_topic, wait_for
from privacy_kit.events import Envelope, Topic
from retention.erasure.certificate import verify
from retention.keys import load_public_key

from .otlp import OtlpReceiver

pytestmark = pytest.mark.e2e
EVENT_SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"


@pytest_asyncio.fixture(scope="module")
async def running(postgres_admin_dsn: str, kafka_bootstrap: str,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Stack, OtlpReceiver]]:
    receiver = OtlpReceiver()
    await receiver.start()
    log_dir: Path = tmp_path_factory.mktemp("e2e-logs")
    stack = Stack(
        admin_dsn=postgres_admin_dsn,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"e2e{uuid.uuid4().hex[:6]}.",
        database_prefix=f"e2e_{uuid.uuid4().hex[:6]}_",
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"},
        log_dir=log_dir,
        # Never the default ports: another suite on this machine may be using them.
        ports={name: free_port() for name in (*STORES, GATEWAY)},
    )
    try:
        await stack.start()
        yield stack, receiver
    finally:
        stack.stop()
        await receiver.stop()


async def _tables_naming(dsn: str, needle: str) -> dict[str, int]:
    """Every table of a database whose rows mention `needle` anywhere, with the row count.
    Binary columns (a dead letter's record) are searched as bytes: their text form is hex."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            """SELECT quote_ident(t.table_name) AS t,
                      array_remove(array_agg(quote_ident(c.column_name::text))
                                   FILTER (WHERE c.data_type = 'bytea'), NULL) AS binary
               FROM information_schema.tables t JOIN information_schema.columns c
                 ON c.table_schema = t.table_schema AND c.table_name = t.table_name
               WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
               GROUP BY t.table_name""")
        found = {}
        for row in tables:
            in_bytes = "".join(f" OR position(convert_to($1, 'UTF8') in r.{c}) > 0"
                               for c in row["binary"] or ())
            count = await conn.fetchval(
                f"SELECT count(*) FROM {row['t']} AS r WHERE r::text LIKE '%' || $1 || '%'"
                f"{in_bytes}", needle)
            if count:
                found[row["t"]] = count
        return found
    finally:
        await conn.close()


BROKEN_SOURCE = "e2e-dead-letter"  # a deliberately unreadable event, not one of the suite's


async def _publish(stack: Stack, family: str, event: Envelope) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(f"{stack.topic_prefix}{family}",
                                     event.model_dump_json().encode(),
                                     key=(event.subject_id or "k").encode())
    finally:
        await producer.stop()


async def test_o25_erasure_travels_from_the_gateway_through_kafka_to_every_store_and_back(
    running: tuple[Stack, OtlpReceiver],
) -> None:
    stack, receiver = running
    operator, dpo = auth("operator"), auth("dpo")
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as gw:
        # A subject with rows in all five stores, made through the public API.
        tenant = await gw.post("/v1/tenants", json={"name": "Opleidingen BV"}, headers=operator)
        assert tenant.status_code == 201, tenant.text
        tenant_id = tenant.json()["id"]
        beheerder = auth("beheerder", tenant=tenant_id)
        person = await gw.post(f"/v1/tenants/{tenant_id}/participants", headers=beheerder, json={
            "name": "Jan Jansen", "email": "jan.jansen@example.nl", "birth_date": "1990-04-01"})
        assert person.status_code == 201, person.text
        subject = person.json()["id"]
        participant = auth("participant", tenant=tenant_id, sub=subject)
        consent = await gw.put(f"/v1/subjects/{subject}/consents/newsletter",
                               json={"granted": True}, headers=participant)
        assert consent.status_code == 200, consent.text
        filed = await gw.post("/v1/subject-requests", headers=participant,
                              json={"kind": "erasure", "details": "Verwijder mijn gegevens"})
        assert filed.status_code == 201, filed.text
        breach = await gw.post("/v1/breaches", headers=dpo, json={
            "title": "Mail to the wrong client", "description": "A results export went astray.",
            "discovered_at": "2026-11-20T10:00:00Z", "affected_subject_ids": [subject]})
        assert breach.status_code == 201, breach.text
        assert breach.json()["tenant_notices"]["total"] == 1  # its tenant, from training-records
        hold = await gw.post("/v1/legal-holds", headers=dpo,
                             json={"subject_id": subject, "reason": "claim, since settled"})
        assert hold.status_code == 201, hold.text
        released = await gw.post(f"/v1/legal-holds/{hold.json()['id']}/release", headers=dpo)
        assert released.status_code == 200, released.text
        # O25: an event every store fails on (a major version none reads) leaves a dead letter
        # naming the subject in each store; the erasure must take it too.
        await _publish(stack, Topic.ERASURE, Envelope(
            type="erasure.requested", version=99, source=BROKEN_SOURCE, subject_id=subject,
            tenant_id=tenant_id, data={"note": "a version no store reads"}))

        async def dead_everywhere() -> bool:
            for store in STORES:
                if "dead_letter" not in await _tables_naming(stack.database_urls[store], subject):
                    return False
            return True

        await wait_for(dead_everywhere, timeout=60, what="a dead letter naming the subject in "
                       "every store")
        for store in STORES:
            assert await _tables_naming(stack.database_urls[store], subject), store

        trace_id = secrets.token_hex(16)
        traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
        # Other tests may have instrumented httpx in this process; it would replace our header.
        with suppress_http_instrumentation():
            created = await gw.post(
                "/v1/erasure-jobs", headers={**dpo, "traceparent": traceparent},
                json={"scope": "subject", "subject_id": subject, "reason": "request of the participant"})
        assert created.status_code == 202, created.text
        job = created.json()
        assert job["status"] == "pending"
        assert set(job["stores"]) == set(STORES)

        async def completed() -> dict | None:
            body = (await gw.get(f"/v1/erasure-jobs/{job['id']}", headers=dpo)).json()
            return body if body["status"] == "completed" else None

        done = await wait_for(completed, timeout=60, what="the erasure job to complete")
        # Anyone can fetch the key that verifies certificates, without a token.
        public_key = await gw.get("/v1/erasure-certificates/public-key")
        assert public_key.status_code == 200, public_key.text

    assert {s: v["status"] for s, v in done["stores"].items()} == dict.fromkeys(STORES, "completed")
    assert all(done["stores"][s]["erased"] >= 1 for s in STORES), done["stores"]
    assert done["certificate"]["job_id"] == job["id"]
    assert subject not in str(done["certificate"])
    trusted = load_public_key(public_key.json()["public_key_pem"])
    assert verify(done["certificate"], [trusted]) == trusted
    for store in STORES:
        assert await _tables_naming(stack.database_urls[store], subject) == {}, store
    # O25: no log line of any process carries the id (route templates, never raw paths).
    for name, log_file in stack.log_files.items():
        assert subject not in log_file.read_text(errors="replace"), name

    def spans_present() -> bool:
        spans = receiver.trace(trace_id)
        services_processing = {s.service for s in spans if s.name.endswith("privacy.erasure process")}
        return {"gateway", "retention"} <= {s.service for s in spans} and set(STORES) <= services_processing

    async def probe() -> bool:
        return spans_present()

    try:
        await wait_for(probe, timeout=30, what="the whole erasure in one trace")
    except AssertionError as exc:
        seen = sorted({(s.service, s.name) for s in receiver.trace(trace_id)})
        raise AssertionError(f"{exc}; spans of the trace: {seen}; "
                             f"{len(receiver.spans)} spans received in all") from None
    spans = receiver.trace(trace_id)
    assert any(s.service == "gateway" and "POST" in s.name for s in spans)
    assert any(s.service == "retention" and "/v1/erasure-jobs" in s.name for s in spans)


async def test_every_event_on_the_wire_validates_against_its_published_schema(
    running: tuple[Stack, OtlpReceiver],
) -> None:
    """docs/events/<type>.json is what travels: every event the suite sent in this module (the
    erasure above included) is checked against the schema file of its type."""
    stack, _ = running
    checked: dict[str, int] = {}
    for family in Topic.ALL:
        for event in await read_topic(stack.kafka_bootstrap, f"{stack.topic_prefix}{family}"):
            if event.get("source") == BROKEN_SOURCE:
                continue
            schema_file = EVENT_SCHEMAS / f"{event['type']}.json"
            assert schema_file.exists(), f"{event['type']} has no schema in docs/events/"
            jsonschema.validate(event, json.loads(schema_file.read_text()))
            checked[event["type"]] = checked.get(event["type"], 0) + 1
    assert {"erasure.requested", "erasure.completed", "erasure.job_completed",
            "inventory.published", "consent.changed"} <= set(checked), checked
