"""The gateway app: `uvicorn --factory gateway.main:create_app`.

No database, so not the kit's `create_app` (it opens a pool); the same kit parts otherwise:
request ids, JSON logs, metrics at /metrics, /livez, token checks, the shared error shape
and tracing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from gateway import docs, i18n  # noqa: F401  (i18n: the gateway's Dutch texts)
from gateway.openapi import OpenApiMerger
from gateway.proxy import Upstreams
from gateway.ratelimit import RateLimiter
from gateway.routes import ALL_METHODS, BODY_LIMITS
from gateway.settings import Settings
from gateway.views import router
from privacy_kit import telemetry
from privacy_kit.app import install_observability, livez_router
from privacy_kit.auth import TokenVerifier
from privacy_kit.errors import install_error_handlers
from privacy_kit.metrics import metrics_router
from privacy_kit.validation import InputLimits, RequestHygieneMiddleware

# What a browser page may send and read cross-origin. No cookies: the API takes bearer tokens.
CORS_REQUEST_HEADERS = [
    "Authorization", "Content-Type", "Accept", "Accept-Language", "Idempotency-Key",
    "If-Match", "If-None-Match", "X-Request-ID", "Sec-GPC", "X-Access-Reason",
]
CORS_EXPOSED_HEADERS = [
    "ETag", "Location", "Retry-After", "X-Request-ID", "Content-Language", "Idempotent-Replayed",
    "Content-Disposition",
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Tracing first: the httpx clients must carry the trace context to the services.
        telemetry.setup_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint,
                                settings.otel_traces_file)
        upstreams = Upstreams(settings)
        upstreams.open()
        app.state.upstreams = upstreams
        app.state.openapi = OpenApiMerger(
            upstreams, cache_s=settings.openapi_cache_s,
            fetch_timeout_s=settings.openapi_fetch_timeout_s,
        )
        try:
            yield
        finally:
            await upstreams.aclose()
            telemetry.shutdown_tracing()

    app = FastAPI(
        title="Privacy Suite gateway",
        lifespan=lifespan,
        openapi_url=None,  # /openapi.json and /docs describe the merged public API instead
        docs_url=None,
        redoc_url=None,
        **telemetry.fastapi_options(),
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.public_rate_limiter = RateLimiter(settings.public_rate_limit_per_minute)
    # The same body limits and JSON hygiene as every service, before anything is forwarded
    # (inside the observability middleware: a refusal is logged and counted like any answer).
    limits = InputLimits.from_settings(settings)
    app.add_middleware(RequestHygieneMiddleware, limits=limits, route_limits={
        route: replace(limits, max_body_bytes=max(size, limits.max_body_bytes),
                       max_items=max(items, limits.max_items))
        for route, (size, items) in BODY_LIMITS.items()})
    install_observability(app, settings)
    if settings.cors_allow_origins:
        # Outermost: preflights are answered before anything else, and every answer (errors
        # included) carries the headers a browser needs to read it.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=sorted(ALL_METHODS),
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=settings.cors_max_age_s,
        )
    install_error_handlers(app)
    app.mount(docs.ASSETS_URL, docs.assets(), name="docs-assets")
    app.include_router(docs.router)
    app.include_router(livez_router())
    app.include_router(metrics_router(settings.service_name, database=False))
    app.include_router(router)
    telemetry.instrument_app(app)
    return app
