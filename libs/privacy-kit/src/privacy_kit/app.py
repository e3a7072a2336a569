"""`create_app(settings, ...)`: one FastAPI app per service, with everything opened in lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from privacy_kit import telemetry
from privacy_kit.auth import TokenVerifier
from privacy_kit.consumer import EventConsumer, Subscription
from privacy_kit.db import create_pool, migrate
from privacy_kit.deps import DbConn, db_conn, settings_dependency
from privacy_kit.errors import install_error_handlers
from privacy_kit.idempotency import IdempotencyMiddleware, document_idempotency
from privacy_kit.kafka import ensure_topics
from privacy_kit.logs import configure_logging, request_id_var
from privacy_kit.messages import MessageSender, messages_router
from privacy_kit.metrics import MetricsHook, RequestObserver, metrics_router
from privacy_kit.openapi import truthful_openapi
from privacy_kit.outbox import OutboxRelay
from privacy_kit.provider import (
    PrivacyProvider,
    internal_router,
    privacy_subscriptions,
    publish_inventory,
)
from privacy_kit.query import reject_unknown_query_params
from privacy_kit.settings import ServiceSettings
from privacy_kit.validation import InputLimits, RequestHygieneMiddleware, guard_params
from privacy_kit.worker import STOP_TIMEOUT_S, cancel_and_wait

log = logging.getLogger(__name__)

HealthCheck = Callable[[asyncpg.Connection], Awaitable[dict[str, Any]]]
Hook = Callable[[FastAPI], Awaitable[None]]


class RequestIdMiddleware:
    """Takes X-Request-ID from the caller or makes one, and returns it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get("x-request-id") or str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)  # every log line of this request names it

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def install_observability(app: FastAPI, settings: ServiceSettings) -> None:
    """JSON logs, request metrics and access log by route template, request ids, trusted
    proxies: what the kit's services and the gateway share (middleware, outermost last)."""
    if settings.environment != "test":  # test runners keep their own log capture
        configure_logging(settings.service_name, level=settings.log_level, fmt=settings.log_format)
    app.add_middleware(RequestObserver, service=settings.service_name)
    app.add_middleware(RequestIdMiddleware)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)


def livez_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/livez", summary="Is this process alive? (no dependencies asked)")
    async def livez() -> dict[str, str]:
        return {"status": "alive"}

    return router


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    provider: PrivacyProvider | None = None,
    subscriptions: Sequence[Subscription] = (),
    migrations: Path | None = None,
    health: HealthCheck | None = None,
    on_start: Sequence[Hook] = (),
    on_stop: Sequence[Hook] = (),
    metrics: Sequence[MetricsHook] = (),
) -> FastAPI:
    """Build a service. Nothing connects until the lifespan runs.

    `metrics`: extra gauges for `GET /metrics`, each `async def (conn) -> {name: value}`.
    """
    all_subscriptions = _merge(
        [*(privacy_subscriptions(provider, settings.service_name) if provider else []),
         *subscriptions]
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        telemetry.setup_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint,
                                settings.otel_traces_file)
        if settings.migrate_on_start and migrations is not None:
            await migrate(settings.database_url, migrations, namespace=settings.service_name)
        pool = await create_pool(
            settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        app.state.pool = pool
        app.state.relay = None
        app.state.consumer = None
        app.state.kafka_waiting = None
        app.state.message_sender = None
        try:
            if settings.kafka_enabled:
                async def start_kafka_parts() -> None:
                    if settings.relay_enabled:
                        app.state.relay = OutboxRelay(settings, pool)
                        await app.state.relay.start()
                    if settings.consumers_enabled and all_subscriptions:
                        app.state.consumer = EventConsumer(settings, pool, all_subscriptions)
                        await app.state.consumer.start()

                try:
                    await _topics_ready(settings)
                    await start_kafka_parts()
                except Exception as exc:  # the outbox keeps events until the broker is back
                    log.warning("topics not ready yet (%s); relay and consumer start once "
                                "they exist", exc)
                    app.state.kafka_waiting = asyncio.create_task(
                        _when_topics_exist(settings, start_kafka_parts), name="kafka-start")
            if provider is not None:
                async with pool.acquire() as conn, conn.transaction():
                    await publish_inventory(conn, provider, settings.service_name)
            if settings.smtp_url:
                app.state.message_sender = MessageSender(settings, pool)
                await app.state.message_sender.start()
            for hook in on_start:
                await hook(app)
            yield
        finally:
            for hook in on_stop:
                await hook(app)
            if app.state.kafka_waiting is not None:
                await cancel_and_wait(app.state.kafka_waiting, "kafka-start")
            for part in (app.state.message_sender, app.state.consumer, app.state.relay):
                if part is not None:
                    await part.stop()
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await pool.close()
            except TimeoutError:  # a connection still lent out: close them all the hard way
                log.warning("database connections still in use at shutdown; terminated")
                pool.terminate()
            telemetry.shutdown_tracing()

    app = FastAPI(title=title, description=description, lifespan=lifespan,
                  dependencies=[Depends(reject_unknown_query_params), Depends(guard_params)])
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    app.state.provider = provider
    app.state.input_limits = limits = InputLimits.from_settings(settings)
    # Inside the request-id middleware: a replayed answer gets the retry's own request id.
    app.add_middleware(IdempotencyMiddleware, ttl_s=settings.idempotency_ttl_s,
                       lease_s=settings.idempotency_lease_s)
    # Outside the idempotency keys (an oversized body is refused before anything reads or keeps
    # it), inside the observability middleware: a 413/422 carries the request id and is counted.
    app.add_middleware(RequestHygieneMiddleware, limits=limits)
    install_observability(app, settings)
    install_error_handlers(app)
    app.include_router(_health_router(settings, health))
    app.include_router(livez_router())
    app.include_router(metrics_router(settings.service_name, metrics))
    if provider is not None:
        app.include_router(internal_router(provider))
        app.include_router(messages_router(provider.store))
    for router in routers:
        app.include_router(router)
    document_idempotency(app)
    truthful_openapi(app)
    telemetry.instrument_app(app)
    return app


async def _topics_ready(settings: ServiceSettings) -> None:
    """Create the missing topics (development) or check that the one-shot topics step made them
    (production, `python -m privacy_kit.topics`); raise while any is missing."""
    missing = await ensure_topics(settings, create=settings.kafka_creates_topics)
    if missing and not settings.kafka_creates_topics:
        log.error("topics missing, run `python -m privacy_kit.topics`: %s", ", ".join(missing))
        raise RuntimeError(f"{len(missing)} topics missing")


async def _when_topics_exist(settings: ServiceSettings, then: Callable[[], Awaitable[None]]) -> None:
    """Topics (and their .dlq twins) exist with the configured partitions before the relay
    produces anything: a topic auto-created by a first produce would get one partition."""
    backoff = 0.5
    while True:
        await asyncio.sleep(backoff)
        try:
            await _topics_ready(settings)
        except Exception as exc:
            log.info("topics not ensured yet: %s", exc)
            backoff = min(backoff * 2, 10.0)
            continue
        await then()
        return


def _merge(subscriptions: list[Subscription]) -> list[Subscription]:
    merged: dict[str, Subscription] = {}
    for sub in subscriptions:
        target = merged.setdefault(sub.topic, Subscription(sub.topic))
        target.handlers.update(sub.handlers)
    return list(merged.values())


def _health_router(settings: ServiceSettings, extra: HealthCheck | None) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Can this service serve?")
    async def healthz(request: Request) -> JSONResponse:
        body: dict[str, Any] = {"service": settings.service_name, "status": "ok"}
        try:
            async with request.app.state.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
                body["database"] = "ok"
                body["outbox_backlog"] = int(
                    await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                )
                body["dead_letters"] = int(await conn.fetchval("SELECT count(*) FROM dead_letter"))
                if extra is not None:
                    body.update(await extra(conn))
        except Exception as exc:
            body.update(status="unavailable", database=f"unreachable: {type(exc).__name__}")
            return JSONResponse(body, 503)
        relay = request.app.state.relay
        consumer = request.app.state.consumer
        reasons: list[str] = []
        body["relay"] = {"running": bool(relay and relay.running),
                         "last_error": relay.last_error if relay else None,
                         "broker_resets": relay.watch.resets if relay else 0,
                         "last_reset": relay.watch.last_reset if relay else None}
        if relay is not None and relay.last_error:
            reasons.append(f"the outbox relay cannot publish: {relay.last_error}")
        if consumer is not None:
            body["consumer"] = consumer.health()
            reasons += consumer.health()["problems"]
        else:
            body["consumer"] = {"running": False, "assigned": False, "last_error": None}
        if settings.kafka_enabled and request.app.state.kafka_waiting is not None and (
            not request.app.state.kafka_waiting.done()
        ):
            reasons.append("waiting for the broker to create the topics")
        if body["dead_letters"]:
            reasons.append(f"{body['dead_letters']} dead-lettered events wait for an operator")
        if reasons:
            # Still 200: the service serves its API; writes wait in the outbox. The gateway and
            # operators read `status` and `reasons`.
            body.update(status="degraded", reasons=reasons)
        return JSONResponse(body, 200)

    return router


__all__ = ["DbConn", "create_app", "db_conn", "settings_dependency"]
