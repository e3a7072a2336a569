"""O25: what an erasure would otherwise leave behind in the kit's own places: span names and
attributes (route templates, never raw ids), dead letters, and `.dlq` copies (they expire)."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
from fastapi import APIRouter, FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devstack.testing import Suite
from privacy_kit import telemetry
from privacy_kit.db import migrate
from privacy_kit.dead_letters import forget_dead_letters
from privacy_kit.kafka import wanted_topics
from privacy_kit.protocol import SubjectRestricted, envelope
from privacy_kit.settings import ServiceSettings

SUBJECT = "5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10"


def _app() -> FastAPI:
    app = FastAPI()
    router = APIRouter()

    @router.get("/v1/subjects/{subject_id}/things")
    async def things(subject_id: str) -> dict[str, str]:
        return {"subject": subject_id}

    app.include_router(router)
    return app


async def test_o25_spans_carry_the_route_template_never_the_raw_id() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = _app()
    telemetry.instrument_app(app, tracer_provider=provider)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://svc") as client:
        assert (await client.get(f"/v1/subjects/{SUBJECT}/things?subject_id={SUBJECT}")
                ).status_code == 200
        assert (await client.get(f"/v1/nothing/{SUBJECT}")).status_code == 404
    spans = exporter.get_finished_spans()
    assert spans
    server = [s for s in spans if s.attributes and "http.target" in s.attributes]
    assert {s.name for s in server} == {"GET /v1/subjects/{subject_id}/things", "GET"}
    assert {s.attributes["http.target"] for s in server if s.attributes} == {
        "/v1/subjects/{subject_id}/things", "<unmatched>"}
    for span in spans:
        assert SUBJECT not in span.to_json(), span.name

    # Client spans (calls between services) keep the origin of the URL only.
    with provider.get_tracer("t").start_as_current_span("GET") as span:
        telemetry._redact_client_url(span, httpx.Request(
            "GET", f"http://127.0.0.1:8001/internal/subjects/{SUBJECT}/export"))
    client_span = exporter.get_finished_spans()[-1]
    assert client_span.attributes is not None
    assert client_span.attributes["url.full"] == "http://127.0.0.1:8001/…"


def test_o25_dlq_copies_expire_after_a_bounded_time() -> None:
    """Records on a Kafka topic cannot be deleted one by one: the `.dlq` topics get a
    retention of DLQ_RETENTION_S (7 days by default); the main topics keep the broker's."""
    topics = {t.name: t for t in wanted_topics(ServiceSettings(topic_prefix="p."))}
    assert topics["p.privacy.erasure.dlq"].topic_configs["retention.ms"] == str(7 * 24 * 3600 * 1000)
    assert "retention.ms" not in topics["p.privacy.erasure"].topic_configs
    short = wanted_topics(ServiceSettings(topic_prefix="p.", dlq_retention_s=3600))
    assert {t.topic_configs.get("retention.ms") for t in short if t.name.endswith(".dlq")} == {
        "3600000"}


async def test_o25_an_erasure_forgets_the_dead_letters_naming_the_subject_or_tenant(
    suite: Suite, tmp_path: Path,
) -> None:
    dsn = await suite.new_database("dead")
    await migrate(dsn, tmp_path)  # the kit's own tables
    erased, kept, held, tenant = (str(uuid.uuid4()) for _ in range(4))

    def wire(subject: str | None, tenant_id: str | None = None) -> bytes:
        return envelope(SubjectRestricted(), source="t", subject_id=subject or kept,
                        tenant_id=tenant_id).model_dump_json().encode()

    letters = [
        ("subject in the envelope", wire(erased), "ValueError: boom"),
        ("subject only in the error", b"\xff not json", f"no person {erased}"),
        ("another subject", wire(kept), "ValueError: boom"),
        ("the tenant's", wire(kept, tenant), "ValueError: boom"),
        ("a held subject of the tenant", wire(held, tenant), "ValueError: boom"),
        ("no payload at all", None, "not a valid event envelope"),
    ]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            """INSERT INTO dead_letter (consumer, topic, event_type, error, payload)
               VALUES ($1, 'privacy.subject', 'subject.restricted', $3, $2)""", letters)

        async def left() -> list[str]:
            return [r["consumer"] for r in await conn.fetch(
                "SELECT consumer FROM dead_letter ORDER BY id")]

        assert await forget_dead_letters(conn, subject_id=erased) == 2
        assert await left() == ["another subject", "the tenant's",
                                "a held subject of the tenant", "no payload at all"]
        assert await forget_dead_letters(conn, tenant_id=tenant, keep_subjects=[held]) == 1
        assert await left() == ["another subject", "a held subject of the tenant",
                                "no payload at all"]
        assert await forget_dead_letters(conn) == 0
    finally:
        await conn.close()
