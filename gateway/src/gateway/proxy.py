"""Forwarding to the upstream services: one pooled HTTP client each, errors in the shared shape."""

from __future__ import annotations

import asyncio
import logging
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
    "x-access-reason",  # O3: the reason staff state for reading a client's personal data
)
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade",
})
# The gateway's own server adds these; two of each would confuse clients.
_OWN_RESPONSE_HEADERS = frozenset({"date", "server", "x-request-id"})
log = logging.getLogger(__name__)


class Upstreams:
    """One pooled `httpx.AsyncClient` per upstream service, opened in the lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.urls = settings.upstreams
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.fresh_clients: dict[str, httpx.AsyncClient] = {}
        self.retried = 0

    def open(self) -> None:
        timeout = httpx.Timeout(self.settings.upstream_timeout_s)
        # Idle connections are dropped before the services' own keep-alive timeout (uvicorn: 5 s)
        # so the gateway rarely sends on a connection the service is closing.
        limits = httpx.Limits(max_connections=self.settings.upstream_max_connections,
                              max_keepalive_connections=20,
                              keepalive_expiry=self.settings.upstream_keepalive_s)
        no_reuse = httpx.Limits(max_connections=self.settings.upstream_max_connections,
                                max_keepalive_connections=0)
        for name, url in self.urls.items():
            self.clients[name] = httpx.AsyncClient(
                base_url=url, timeout=timeout, limits=limits, follow_redirects=False
            )
            self.fresh_clients[name] = httpx.AsyncClient(
                base_url=url, timeout=timeout, limits=no_reuse, follow_redirects=False
            )

    async def aclose(self) -> None:
        clients = [*self.clients.values(), *self.fresh_clients.values()]
        await asyncio.gather(*(c.aclose() for c in clients))
        self.clients.clear()
        self.fresh_clients.clear()

    def client(self, name: str) -> httpx.AsyncClient:
        return self.clients[name]

    async def send(self, name: str, request: httpx.Request) -> httpx.Response:
        """Send on a pooled connection; if the service had closed that connection before the
        request reached it (no answer at all), send once more on a fresh connection."""
        try:
            return await self.clients[name].send(request, stream=True)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            keyed = "idempotency-key" in request.headers
            if not never_reached(exc, request.method, keyed=keyed) or name not in self.fresh_clients:
                raise
            self.retried += 1
            log.info("%s closed a kept-alive connection (%s); sending %s %s again on a fresh one",
                     name, exc, request.method, request.url.path)
            return await self.fresh_clients[name].send(request, stream=True)


_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def never_reached(exc: httpx.TransportError, method: str, *, keyed: bool = False) -> bool:
    """The connection was gone before any answer: the service had closed it (after an
    unexpected error, or at its keep-alive timeout) and did not read what was sent on it.

    A request that could not be written, or got a clean close and no byte back, is sent again
    whatever its method; a reset while reading only for idempotent methods (RFC 9110 9.2.2)
    and for a POST with an `Idempotency-Key` (`keyed`: the service answers a repeat with the
    first answer, so it is safe even if the first one did arrive).
    """
    if isinstance(exc, httpx.WriteError):
        return True
    if isinstance(exc, httpx.RemoteProtocolError):
        return "without sending a response" in str(exc)
    return isinstance(exc, httpx.ReadError) and (keyed or method.upper() in _IDEMPOTENT)


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
        answer = await upstreams.send(upstream, outgoing)
    except httpx.TimeoutException as exc:
        timeout = upstreams.settings.upstream_timeout_s
        raise ApiError(
            504, "upstream_timeout",
            f"The {upstream} service did not answer within {timeout:g} s; try again later.",
        ) from exc
    except httpx.TransportError as exc:
        log.warning("%s %s to %s failed: %r", request.method, request.url.path, upstream, exc)
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
