"""Forwarding to the upstream services: one pooled HTTP client each, errors in the shared shape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from gateway.settings import Settings
from privacy_kit.errors import ApiError

# What a service needs from the caller's request. Anything else (cookies, hop-by-hop headers,
# an incoming traceparent) stays at the gateway; the trace context is injected afresh by the
# httpx instrumentation as a child of the gateway's own span.
FORWARDED_REQUEST_HEADERS = (
    "authorization", "content-type", "accept", "accept-language", "sec-gpc",
    "idempotency-key", "if-match", "if-none-match",
)
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade",
})
# The gateway's own server adds these; two of each would confuse clients.
_OWN_RESPONSE_HEADERS = frozenset({"date", "server", "x-request-id"})


class Upstreams:
    """One pooled `httpx.AsyncClient` per upstream service, opened in the lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.urls = settings.upstreams
        self.clients: dict[str, httpx.AsyncClient] = {}

    def open(self) -> None:
        timeout = httpx.Timeout(self.settings.upstream_timeout_s)
        limits = httpx.Limits(max_connections=self.settings.upstream_max_connections,
                              max_keepalive_connections=20)
        for name, url in self.urls.items():
            self.clients[name] = httpx.AsyncClient(
                base_url=url, timeout=timeout, limits=limits, follow_redirects=False
            )

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()))
        self.clients.clear()

    def client(self, name: str) -> httpx.AsyncClient:
        return self.clients[name]


def upstream_headers(request: Request) -> dict[str, str]:
    headers = {k: v for k in FORWARDED_REQUEST_HEADERS if (v := request.headers.get(k))}
    headers["x-request-id"] = request.state.request_id
    client_host = request.client.host if request.client else None
    prior = request.headers.get("x-forwarded-for")
    if client_host:
        headers["x-forwarded-for"] = f"{prior}, {client_host}" if prior else client_host
    headers["x-forwarded-proto"] = request.url.scheme
    if host := request.headers.get("host"):
        headers["x-forwarded-host"] = host
    return headers


def response_headers(upstream: httpx.Headers) -> list[tuple[str, str]]:
    named_in_connection = {
        h.strip().lower() for h in upstream.get("connection", "").split(",") if h.strip()
    }
    drop = HOP_BY_HOP | named_in_connection | _OWN_RESPONSE_HEADERS
    return [(k, v) for k, v in upstream.multi_items() if k.lower() not in drop]


async def forward(request: Request, upstream: str) -> Response:
    """Send the request on to `upstream` and stream its answer back."""
    upstreams: Upstreams = request.app.state.upstreams
    client = upstreams.client(upstream)
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    target = httpx.URL(raw_path=raw_path + (b"?" + query if query else b""))
    outgoing = client.build_request(
        request.method, target, headers=upstream_headers(request), content=await request.body()
    )
    try:
        answer = await client.send(outgoing, stream=True)
    except httpx.TimeoutException as exc:
        timeout = upstreams.settings.upstream_timeout_s
        raise ApiError(
            504, "upstream_timeout",
            f"The {upstream} service did not answer within {timeout:g} s; try again later.",
        ) from exc
    except httpx.TransportError as exc:
        raise ApiError(
            502, "upstream_unavailable",
            f"The {upstream} service cannot be reached right now; try again later.",
        ) from exc
    response = StreamingResponse(
        _relay(answer),
        status_code=answer.status_code,
        background=BackgroundTask(answer.aclose),
    )
    # Raw headers keep repeated ones (Set-Cookie, Link) as the service sent them.
    response.raw_headers.extend(
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in response_headers(answer.headers)
    )
    return response


async def _relay(answer: httpx.Response) -> AsyncIterator[bytes]:
    # Closing here too returns the connection to the pool when the caller hangs up mid-stream
    # (then the response's background task does not run).
    try:
        async for chunk in answer.aiter_raw():
            yield chunk
    finally:
        await answer.aclose()
