"""The gateway app: `uvicorn --factory gateway.main:create_app`.

No database, so not the kit's `create_app` (it opens a pool); the same kit parts otherwise:
request ids, token checks, the shared error shape and tracing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from gateway.openapi import OpenApiMerger
from gateway.proxy import Upstreams
from gateway.ratelimit import RateLimiter
from gateway.settings import Settings
from gateway.views import router
from privacy_kit import telemetry
from privacy_kit.app import RequestIdMiddleware
from privacy_kit.auth import TokenVerifier
from privacy_kit.errors import install_error_handlers
from privacy_kit.validation import InputLimits, RequestHygieneMiddleware


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Tracing first: the httpx clients must carry the trace context to the services.
        telemetry.setup_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
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
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.public_rate_limiter = RateLimiter(settings.public_rate_limit_per_minute)
    # The same body limits and JSON hygiene as every service, before anything is forwarded.
    app.add_middleware(RequestHygieneMiddleware, limits=InputLimits.from_settings(settings))
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    app.include_router(router)
    telemetry.instrument_app(app)
    return app
