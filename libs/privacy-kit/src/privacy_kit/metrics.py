"""Prometheus metrics at `GET /metrics` and the per-request observer (metrics + access log).

Request metrics are labelled by route template, never by raw path: paths carry subject ids.
State metrics are read from the database and the running consumer when Prometheus scrapes:
outbox backlog and the age of its oldest unsent event, dead letters, consumer partitions and
lag. A service adds its own with `create_app(..., metrics=[gauges])`, where each `gauges` is
`async def (conn) -> {"privacy_<name>": value}` (e.g. retention's erasure jobs pending).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy_kit.logs import access_log, service_var

log = logging.getLogger(__name__)

MetricsHook = Callable[[asyncpg.Connection], Awaitable[dict[str, float]]]

REQUESTS = Counter(
    "privacy_http_requests_total", "HTTP requests by route template and status.",
    ["service", "method", "route", "status"],
)
LATENCY = Histogram(
    "privacy_http_request_duration_seconds", "HTTP request latency by route template.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UNMATCHED = "<unmatched>"
# Probes and scrapes: counted, but kept out of the access log at INFO.
_QUIET_ROUTES = frozenset({"/healthz", "/livez", "/metrics"})


def route_template(scope: Scope) -> str:
    """The matched route's template (or a label the app set), never the raw path."""
    label = scope.get("state", {}).get("route_template")
    if label:
        return str(label)
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else UNMATCHED


class RequestObserver:
    """Counts and times every request by route template and logs one access line for it."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = service_var.set(self.service)
        started = time.perf_counter()
        status = 500  # what the caller gets when the app raises before answering

        async def observe_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe_status)
        finally:
            elapsed = time.perf_counter() - started
            route, method = route_template(scope), scope["method"]
            REQUESTS.labels(self.service, method, route, str(status)).inc()
            LATENCY.labels(self.service, method, route).observe(elapsed)
            access_log.log(
                10 if route in _QUIET_ROUTES else 20,
                "%s %s %s", method, route, status,
                extra={"http_method": method, "route": route, "status": status,
                       "duration_ms": round(elapsed * 1000, 2)},
            )
            service_var.reset(token)


class _Values(Collector):
    """One scrape's worth of gauges, computed beforehand."""

    def __init__(self, families: Iterable[GaugeMetricFamily]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self.families


def _gauge(name: str, doc: str, value: float, service: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["service"])
    family.add_metric([service], value)
    return family


async def database_gauges(
    conn: asyncpg.Connection, service: str, hooks: Sequence[MetricsHook]
) -> list[GaugeMetricFamily]:
    row = await conn.fetchrow(
        """SELECT count(*) AS backlog,
                  coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest
           FROM outbox WHERE sent_at IS NULL"""
    )
    dead = await conn.fetchval("SELECT count(*) FROM dead_letter")
    families = [
        _gauge("privacy_outbox_backlog", "Events in the outbox not yet sent to Kafka.",
               float(row["backlog"]), service),
        _gauge("privacy_outbox_oldest_unsent_age_seconds",
               "Age of the oldest unsent outbox event (0 when none).", float(row["oldest"]), service),
        _gauge("privacy_dead_letters", "Events that failed every retry (dead_letter rows).",
               float(dead), service),
    ]
    for hook in hooks:
        for name, value in (await hook(conn)).items():
            families.append(_gauge(name, f"{name} (from the {service} service)", float(value), service))
    return families


async def consumer_gauges(app_state: Any, service: str) -> list[GaugeMetricFamily]:
    """Partitions held and lag per partition, read from the running consumer, if any."""
    relay, consumer = getattr(app_state, "relay", None), getattr(app_state, "consumer", None)
    families = [
        _gauge("privacy_relay_running", "1 while the outbox relay runs.",
               float(bool(relay and relay.running)), service),
        _gauge("privacy_consumer_running", "1 while the event consumer runs.",
               float(bool(consumer and consumer.running)), service),
    ]
    kafka_consumer: Any = getattr(consumer, "_consumer", None)
    assigned = GaugeMetricFamily("privacy_consumer_assigned_partitions",
                                 "Partitions this replica consumes.", labels=["service"])
    lag = GaugeMetricFamily(
        "privacy_consumer_lag", "Records on the broker not yet fetched, per partition.",
        labels=["service", "topic", "partition"],
    )
    partitions = sorted(kafka_consumer.assignment()) if kafka_consumer is not None else []
    assigned.add_metric([service], float(len(partitions)))
    for tp in partitions:
        highwater = kafka_consumer.highwater(tp)
        if highwater is None:
            continue
        with contextlib.suppress(Exception):
            async with asyncio.timeout(0.2):
                position = await kafka_consumer.position(tp)
            lag.add_metric([service, tp.topic, str(tp.partition)], float(max(highwater - position, 0)))
    return [*families, assigned, lag]


def metrics_router(service: str, hooks: Sequence[MetricsHook] = (), *, database: bool = True) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        families: list[GaugeMetricFamily] = []
        up = 1.0
        if database:
            try:
                async with request.app.state.pool.acquire(timeout=2) as conn:
                    families += await database_gauges(conn, service, hooks)
            except Exception:
                log.exception("metrics: the database did not answer")
                up = 0.0
            families.append(_gauge("privacy_database_up", "1 when the database answered.", up, service))
            families += await consumer_gauges(request.app.state, service)
        scrape = CollectorRegistry()
        scrape.register(_Values(families))
        body = generate_latest(REGISTRY) + generate_latest(scrape)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
