"""The gateway's own endpoints (/healthz, /openapi.json) and the catch-all that forwards."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from opentelemetry import trace
from starlette.responses import Response

from gateway.access import authorize, principal_or_none
from gateway.health import gateway_health_details, public_health
from gateway.openapi import OpenApiMerger
from gateway.proxy import forward
from gateway.ratelimit import RateLimiter
from gateway.routes import ALL_METHODS, find_route, path_is_routed
from gateway.settings import Settings
from privacy_kit.auth import current_principal, forbidden
from privacy_kit.errors import ApiError

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    body = await gateway_health_details(request.app.state.upstreams, settings.health_timeout_s)
    return JSONResponse(public_health(body), 200)


@router.get("/v1/health/details", include_in_schema=False)
async def health_details(request: Request) -> JSONResponse:
    """Each upstream's URL, status code and own health body: for operators only."""
    if not current_principal(request).has("operator"):
        raise forbidden("This needs the operator role.")
    settings: Settings = request.app.state.settings
    body = await gateway_health_details(request.app.state.upstreams, settings.health_timeout_s)
    return JSONResponse(body, 200)


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    merger: OpenApiMerger = request.app.state.openapi
    return JSONResponse(await merger.document())


@router.api_route("/{path:path}", methods=sorted(ALL_METHODS), include_in_schema=False)
async def proxy(request: Request) -> Response:
    path: str = request.scope["path"]  # (request.url would parse the whole URL again)
    if any(segment in (".", "..") for segment in path.split("/")):
        raise ApiError(404, "not_found", "No such resource.")
    route = find_route(request.method, path)
    if route is None:
        if path_is_routed(path):
            raise ApiError(405, "method_not_allowed",
                           "This method is not allowed on this resource.")
        raise ApiError(404, "not_found", f"No such resource: {path}.")
    # Metrics and the access log name the route row, never the raw path (it holds ids).
    request.state.route_template = route.template
    # The connection's address, or the client's behind a trusted proxy (the kit's
    # TRUSTED_PROXIES: a forged X-Forwarded-For from anyone else is ignored).
    address = request.client.host if request.client else "unknown"
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
