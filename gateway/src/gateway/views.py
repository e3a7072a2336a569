"""The gateway's own endpoints (/healthz, /openapi.json, /docs) and the catch-all that forwards."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from opentelemetry import trace
from starlette.responses import Response

from gateway.access import authorize, principal_or_none
from gateway.health import gateway_health
from gateway.openapi import OpenApiMerger
from gateway.proxy import forward
from gateway.ratelimit import RateLimiter, client_address
from gateway.routes import ALL_METHODS, find_route, path_is_routed
from gateway.settings import Settings
from privacy_kit.errors import ApiError

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    body = await gateway_health(request.app.state.upstreams, settings.health_timeout_s)
    return JSONResponse(body, 200)


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    merger: OpenApiMerger = request.app.state.openapi
    return JSONResponse(await merger.document())


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Privacy Suite API")


@router.api_route("/{path:path}", methods=sorted(ALL_METHODS), include_in_schema=False)
async def proxy(request: Request) -> Response:
    path = request.url.path
    if any(segment in (".", "..") for segment in path.split("/")):
        raise ApiError(404, "not_found", "No such resource.")
    route = find_route(request.method, path)
    if route is None:
        if path_is_routed(path):
            raise ApiError(405, "method_not_allowed",
                           "This method is not allowed on this resource.")
        raise ApiError(404, "not_found", f"No such resource: {path}.")
    settings: Settings = request.app.state.settings
    address = client_address(request, settings.trusted_networks)
    public_limiter: RateLimiter = request.app.state.public_rate_limiter
    if route.public and public_limiter.enabled:
        public_limiter.check(f"ip:{address}")
    limiter: RateLimiter = request.app.state.rate_limiter
    if limiter.enabled:
        principal = principal_or_none(request)
        limiter.check(f"sub:{principal.sub}" if principal else f"ip:{address}")
    authorize(request, route, path)
    span = trace.get_current_span()
    span.update_name(f"{request.method} {route.upstream}")
    span.set_attribute("privacy_suite.upstream", route.upstream)
    return await forward(request, route.upstream)
