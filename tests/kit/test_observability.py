"""What an engineer on call sees: metrics by route template, JSON log lines with request and
trace id, /livez, the OTEL_* sampler, Kafka connection settings, trusted proxies."""

from __future__ import annotations

import io
import json
import logging
import ssl
from pathlib import Path

import asyncpg
import pytest
from fastapi import APIRouter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from pydantic import ValidationError

from devstack.testing import Suite, app_client, auth
from gateway.main import create_app as create_gateway
from gateway.settings import Settings as GatewaySettings
from privacy_kit import telemetry
from privacy_kit.app import create_app
from privacy_kit.kafka import kafka_connection, new_producer, wanted_topics
from privacy_kit.logs import access_log, log_handler
from privacy_kit.settings import DEV_SECRET, ServiceSettings

SUBJECT = "jan-jansen-1990"  # a subject id: personal data, so never in a label or log line


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/v1/subjects/{subject_id}/things")
    async def things(subject_id: str) -> dict[str, str]:
        logging.getLogger("test.things").info("listing things")
        return {"subject": subject_id}

    return router


async def _gauges(conn: asyncpg.Connection) -> dict[str, float]:
    return {"privacy_things_waiting": float(await conn.fetchval("SELECT 7"))}


async def test_metrics_and_access_log_name_the_route_template_never_the_raw_path(
    suite: Suite, tmp_path: Path,
) -> None:
    dsn = await suite.new_database("observe")
    settings = ServiceSettings(**{**suite.env(dsn, "observed"), "kafka_enabled": False})
    app = create_app(settings, title="observed", routers=[_router()], metrics=[_gauges],
                     migrations=tmp_path)  # the kit's own tables only
    stream = io.StringIO()
    handler = log_handler("observed", stream=stream)
    for logger in (access_log, logging.getLogger("test.things")):
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        async with app_client(app) as client:
            assert (await client.get("/livez")).json() == {"status": "alive"}
            ok = await client.get(f"/v1/subjects/{SUBJECT}/things",
                                  headers={"X-Request-ID": "req-obs-1"})
            assert ok.status_code == 200
            assert (await client.get(f"/v1/nothing/{SUBJECT}")).status_code == 404
            metrics = await client.get("/metrics")
    finally:
        for logger in (access_log, logging.getLogger("test.things")):
            logger.removeHandler(handler)

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert SUBJECT not in text
    assert ('privacy_http_requests_total{method="GET",route="/v1/subjects/{subject_id}/things",'
            'service="observed",status="200"} 1.0') in text
    assert 'route="<unmatched>",service="observed",status="404"' in text
    assert 'privacy_http_request_duration_seconds_bucket{le="0.005",method="GET"' in text
    for gauge in ("privacy_outbox_backlog", "privacy_outbox_oldest_unsent_age_seconds",
                  "privacy_dead_letters", "privacy_consumer_assigned_partitions"):
        assert f'{gauge}{{service="observed"}} 0.0' in text
    assert 'privacy_things_waiting{service="observed"} 7.0' in text
    assert 'privacy_database_up{service="observed"} 1.0' in text

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert SUBJECT not in stream.getvalue()
    mine = [line for line in lines if line["request_id"] == "req-obs-1"]
    assert [line["logger"] for line in mine] == ["test.things", "privacy.access"]
    access = mine[1]
    assert access["route"] == "/v1/subjects/{subject_id}/things"
    assert access["status"] == 200 and access["http_method"] == "GET"
    assert access["service"] == "observed"
    assert access["level"] == "INFO" and access["time"]
    assert "trace_id" in access and "duration_ms" in access


def test_the_otel_sampler_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    sampler = TracerProvider(sampler=telemetry._sampler(True)).sampler
    assert isinstance(sampler, ParentBased)
    assert "TraceIdRatioBased{0.25}" in sampler.get_description()
    monkeypatch.delenv("OTEL_TRACES_SAMPLER")
    assert isinstance(telemetry._sampler(True), ParentBased)
    assert not isinstance(telemetry._sampler(True), TraceIdRatioBased)


def test_traces_file_exporter_writes_one_json_line_per_span(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    path = tmp_path / "traces" / "svc.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(telemetry.JsonLinesSpanExporter(path)))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("outer"), tracer.start_as_current_span("inner"):
        pass
    spans = [json.loads(line) for line in path.read_text().splitlines()]
    assert [s["name"] for s in spans] == ["inner", "outer"]
    assert spans[0]["context"]["trace_id"] == spans[1]["context"]["trace_id"]
    assert spans[0]["parent_id"] == spans[1]["context"]["span_id"]


def test_kafka_clients_get_tls_and_sasl_from_settings(tmp_path: Path) -> None:
    plain = kafka_connection(ServiceSettings(kafka_bootstrap_servers="k:9092"))
    assert plain == {"bootstrap_servers": "k:9092", "security_protocol": "PLAINTEXT"}

    secured = kafka_connection(ServiceSettings(
        kafka_bootstrap_servers="k:9093", kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256", kafka_sasl_username="consent",
        kafka_sasl_password="s3cret"))
    assert secured["security_protocol"] == "SASL_SSL"
    assert secured["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (secured["sasl_plain_username"], secured["sasl_plain_password"]) == ("consent", "s3cret")
    context = secured["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED

    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME"):
        ServiceSettings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN")
    with pytest.raises(ValidationError, match="KAFKA_SSL_KEYFILE"):
        ServiceSettings(kafka_security_protocol="SSL", kafka_ssl_certfile=str(tmp_path / "c.pem"))


async def test_idempotent_producer_and_no_topic_creation_by_default_in_production_only() -> None:
    secrets = {"jwt_secret": "x1-y2_z3#w4@v5!u6%t7^s8&r9*q0(p1)o2",
               "service_token_secret": "s1-t2_u3#v4@w5!x6%y7^z8&a9*b0(c1)d2",
               "jwt_issuer": "https://login.example.org", "jwt_audience": "privacy-suite"}
    production = ServiceSettings(environment="production", **secrets)
    development = ServiceSettings()
    assert production.kafka_idempotent_producer and not production.kafka_creates_topics
    assert not development.kafka_idempotent_producer and development.kafka_creates_topics
    assert not ServiceSettings(environment="production", **secrets,
                               kafka_enable_idempotence=False).kafka_idempotent_producer
    assert new_producer(production)._txn_manager is not None  # aiokafka: the idempotent state
    assert new_producer(development)._txn_manager is None

    topics = wanted_topics(ServiceSettings(topic_prefix="p.", topic_partitions=6,
                                           topic_replication_factor=3,
                                           topic_min_insync_replicas=2))
    erasure = next(t for t in topics if t.name == "p.privacy.erasure")
    dead = next(t for t in topics if t.name == "p.privacy.erasure.dlq")
    assert (erasure.num_partitions, erasure.replication_factor) == (6, 3)
    assert (dead.num_partitions, dead.replication_factor) == (1, 3)
    assert erasure.topic_configs == {"min.insync.replicas": "2"}
    assert len(topics) == 12


def _limited_gateway(**extra: str) -> GatewaySettings:
    return GatewaySettings(environment="test", jwt_secret=DEV_SECRET, rate_limit_per_minute=2,
                           consent_url="http://127.0.0.1:1", **extra)


async def test_a_caller_cannot_choose_its_own_address_unless_the_proxy_is_trusted() -> None:
    async def three_from_different_addresses(settings: GatewaySettings) -> list[int]:
        async with app_client(create_gateway(settings)) as client:
            return [(await client.get("/v1/purposes", headers={"X-Forwarded-For": f"10.0.0.{i}"}))
                    .status_code for i in range(3)]

    # Not trusted (the default): X-Forwarded-For is ignored, all three are one caller.
    assert await three_from_different_addresses(_limited_gateway()) == [502, 502, 429]
    # Behind a trusted proxy (the test client's address), each address is its own caller.
    trusted = _limited_gateway(trusted_proxies="127.0.0.1")
    assert await three_from_different_addresses(trusted) == [502, 502, 502]


async def test_gateway_serves_livez_and_metrics_without_upstreams() -> None:
    async with app_client(create_gateway(_limited_gateway())) as client:
        assert (await client.get("/livez")).json() == {"status": "alive"}
        await client.get("/v1/subjects/s-1/consents", headers=auth("participant", sub="s-1"))
        text = (await client.get("/metrics")).text
    assert 'service="gateway"' in text
    assert 'route="consent /v1/subjects/{id}/consents(/|$)"' in text
    assert "s-1" not in text
