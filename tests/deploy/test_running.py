"""The suite as real processes, looked at as an operator would: JSON logs, metrics and one
trace across services; and two replicas of a service sharing the work of one consumer group
on the real broker without erasing anything twice."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from opentelemetry.instrumentation.utils import suppress_http_instrumentation

from devstack.__main__ import main as devstack_main
from devstack.infra import free_port
from devstack.stack import GATEWAY, Stack
from devstack.testing import auth, read_events, wait_for
from devstack.traces import load_spans, render

pytestmark = pytest.mark.e2e

REPLICATED = "consent"


@pytest_asyncio.fixture(scope="module")
async def stack(postgres_admin_dsn: str, kafka_bootstrap: str,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    home = tmp_path_factory.mktemp("running")
    running = Stack(
        admin_dsn=postgres_admin_dsn,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"run{uuid.uuid4().hex[:6]}.",
        database_prefix=f"run_{uuid.uuid4().hex[:6]}_",
        services=("consent", "retention"),
        # Never the default ports: other suites on this machine may be using them.
        ports={name: free_port() for name in ("consent", "retention", GATEWAY)},
        # Two partitions per topic: two replicas of a service can each own one.
        env={"TOPIC_PARTITIONS": "2", "OTEL_BSP_SCHEDULE_DELAY": "100"},
        log_dir=home / "logs",
        traces_dir=home / "traces",
    )
    try:
        await running.start()
        yield running
    finally:
        running.stop()


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


async def test_logs_metrics_and_one_trace_across_processes_without_personal_data(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    subject = f"subject-{uuid.uuid4().hex[:8]}"
    request_id = f"req-{uuid.uuid4().hex[:8]}"
    # Earlier tests may have instrumented httpx in this process with spans recorded nowhere: its
    # unsampled traceparent would tell the gateway not to record this trace either.
    with suppress_http_instrumentation():
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.put(
                f"{stack.gateway_url}/v1/subjects/{subject}/consents/newsletter",
                json={"granted": True},
                headers={**auth("participant", sub=subject), "X-Request-ID": request_id})
            assert answer.status_code == 200, answer.text

            # A request is counted when its handling ends, just after the caller has the answer.
            async def counted(url: str, needle: str) -> str | None:
                text = (await client.get(f"{url}/metrics")).text
                return text if needle in text else None

            gateway_metrics = await wait_for(lambda: counted(
                stack.gateway_url, 'privacy_http_requests_total{method="PUT",route="consent '),
                timeout=10, what="the gateway's request counted")
            consent_metrics = await wait_for(lambda: counted(
                stack.urls["consent"], 'route="/v1/subjects/{subject_id}/consents/{purpose}"'),
                timeout=10, what="consent's request counted")

    def access_line(name: str) -> dict[str, Any] | None:
        return next((line for line in _json_lines(stack.log_files[name])
                     if line.get("logger") == "privacy.access"
                     and line.get("request_id") == request_id), None)

    async def both_logged() -> tuple[dict[str, Any], dict[str, Any]] | None:
        gateway, consent = access_line("gateway"), access_line("consent")
        return (gateway, consent) if gateway and consent else None

    gateway, consent = await wait_for(both_logged, timeout=10, what="both access lines")
    assert consent["route"] == "/v1/subjects/{subject_id}/consents/{purpose}"
    assert consent["service"] == "consent" and consent["status"] == 200
    assert gateway["service"] == "gateway" and gateway["route"].startswith("consent /v1/subjects/")
    trace_id = gateway["trace_id"]
    assert trace_id and consent["trace_id"] == trace_id
    for name in ("gateway", "consent"):
        log = stack.log_files[name].read_text()
        assert subject not in log  # ids in paths are personal data: never logged
        assert all(line.startswith("{") for line in log.splitlines() if line.strip()), name

    assert subject not in gateway_metrics + consent_metrics
    assert 'route="/v1/subjects/{subject_id}/consents/{purpose}",service="consent",status="200"' \
        in consent_metrics
    assert 'privacy_outbox_backlog{service="consent"}' in consent_metrics
    assert 'privacy_http_requests_total{method="PUT",route="consent /v1/subjects/' in gateway_metrics

    assert stack.traces_dir is not None
    traces_dir = stack.traces_dir

    async def trace_written() -> bool:
        services = {s.service for s in load_spans(traces_dir) if s.trace_id == trace_id}
        return {"gateway", "consent"} <= services

    await wait_for(trace_written, timeout=15, what="the trace in the trace files")
    tree = render(load_spans(traces_dir), trace_id)
    assert "gateway" in tree and "consent" in tree
    assert devstack_main(["trace", trace_id, "--home", str(traces_dir.parent)]) == 0
    assert f"trace {trace_id}" in capsys.readouterr().out


async def _assigned_partitions(client: httpx.AsyncClient, url: str) -> float:
    for line in (await client.get(f"{url}/metrics")).text.splitlines():
        if line.startswith("privacy_consumer_assigned_partitions{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _handled(traces: Path, label: str, topic: str) -> Counter[str]:
    """Erasure requests each replica's consumer processed, by event id (from its spans)."""
    handled: Counter[str] = Counter()
    path = traces / f"{label}.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        span = json.loads(line)
        attributes = span.get("attributes", {})
        if span["name"] == f"{topic} process" and \
                attributes.get("privacy.event_type") == "erasure.requested":
            handled[attributes["messaging.message.id"]] += 1
    return handled


async def test_two_replicas_share_one_consumer_group_and_erase_each_subject_once(
    stack: Stack,
) -> None:
    assert stack.traces_dir is not None
    with suppress_http_instrumentation():  # see above: let the gateway start each trace
        await _erase_with_two_replicas(stack)


async def _erase_with_two_replicas(stack: Stack) -> None:
    assert stack.traces_dir is not None
    second = await stack.add_replica(REPLICATED)
    replicas = stack.replica_urls(REPLICATED)
    assert set(replicas) == {REPLICATED, second}
    async with httpx.AsyncClient(timeout=30) as client:
        async def both_consume() -> bool:
            owned = [await _assigned_partitions(client, url) for url in replicas.values()]
            return all(n >= 1 for n in owned)

        # The group rebalances when the second replica joins; each then owns partitions.
        await wait_for(both_consume, timeout=60, interval=0.5,
                       what="both replicas to own partitions of the consumer group")

        subjects = [f"subject-{uuid.uuid4().hex[:10]}" for _ in range(16)]
        for subject in subjects:
            granted = await client.put(
                f"{stack.gateway_url}/v1/subjects/{subject}/consents/newsletter",
                json={"granted": True}, headers=auth("participant", sub=subject))
            assert granted.status_code == 200, granted.text
        jobs = []
        for subject in subjects:
            created = await client.post(
                f"{stack.gateway_url}/v1/erasure-jobs", headers=auth("dpo"),
                json={"scope": "subject", "subject_id": subject, "reason": "scaling test"})
            assert created.status_code == 202, created.text
            jobs.append(created.json()["id"])

        async def all_completed() -> list[dict[str, Any]] | None:
            bodies = [(await client.get(f"{stack.gateway_url}/v1/erasure-jobs/{job}",
                                        headers=auth("dpo"))).json() for job in jobs]
            return bodies if all(b["status"] == "completed" for b in bodies) else None

        done = await wait_for(all_completed, timeout=90, interval=0.5,
                              what="every erasure job to complete")
    assert all(body["stores"][REPLICATED]["erased"] >= 1 for body in done)

    # Each job was answered by the consent store exactly once: a second erasure would have
    # emitted a second erasure.completed in its transaction.
    topic = f"{stack.topic_prefix}privacy.erasure"
    answers = await read_events(
        stack.kafka_bootstrap, topic, expect=len(jobs) + 1, timeout=5,
        match=lambda e: e.type == "erasure.completed" and e.data.get("store") == REPLICATED)
    assert Counter(e.data["job_id"] for e in answers) == Counter({job: 1 for job in jobs})

    # And both replicas did part of the work, each event in one replica only.
    first, other = (_handled(stack.traces_dir, label, topic) for label in (REPLICATED, second))
    assert first and other, (first, other)
    assert not set(first) & set(other)
    assert sum(first.values()) + sum(other.values()) >= len(jobs)
    assert all(n == 1 for n in (first + other).values())
