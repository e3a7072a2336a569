"""Forwarding to the upstream services: one pooled HTTP client each, errors in the shared shape.

Requests are forwarded with aiohttp (one `ClientSession` and connection pool per upstream):
under load httpx's pool checked every pooled connection on each request and release, which
was most of the gateway's CPU (issue 10, docs/performance.md). The gateway's own calls
(health, OpenAPI documents) keep httpx clients; they are rare.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import httpx
from fastapi import Request
from opentelemetry import propagate, trace
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp
from yarl import URL

from gateway.settings import Settings
from privacy_kit.errors import ApiError

# What a service needs from the caller's request. Anything else (cookies, hop-by-hop headers,
# an incoming traceparent) stays at the gateway; the trace context is injected afresh as a
# child of the gateway's own span.
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
_DROPPED = HOP_BY_HOP | _OWN_RESPONSE_HEADERS
# Answers up to this size (by their Content-Length) are read whole and sent in one piece;
# larger ones (exports, archives) and those of unknown length are streamed through.
BUFFERED_BYTES = 256 * 1024
STREAM_CHUNK = 64 * 1024
# aiohttp would add these on its own; the service gets only what the caller sent (no
# compression asked for on the caller's behalf: the body is passed through as it comes).
_NO_AUTO_HEADERS = frozenset({"User-Agent", "Accept-Encoding", "Content-Type"})
log = logging.getLogger(__name__)
_tracer = trace.get_tracer("gateway.proxy")


class Upstreams:
    """Per upstream service: a pooled aiohttp session for forwarding, a second one that opens
    a fresh connection (for the one repeat after a closed connection), and an httpx client
    for the gateway's own calls. Opened in the lifespan (aiohttp needs the running loop)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.urls = settings.upstreams
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.fresh_sessions: dict[str, aiohttp.ClientSession] = {}
        # Upstreams served in this process (`mount`): reached through httpx's ASGI transport.
        self.in_process: set[str] = set()
        self.retried = 0

    def open(self) -> None:
        seconds = self.settings.upstream_timeout_s
        timeout = httpx.Timeout(seconds)
        # Idle connections are dropped before the services' own keep-alive timeout (uvicorn: 5 s)
        # so the gateway rarely sends on a connection the service is closing.
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=5,
                              keepalive_expiry=self.settings.upstream_keepalive_s)
        # No answer byte within the timeout (or no connection) is a 504, as with httpx.
        forward_timeout = aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)
        for name, url in self.urls.items():
            self.clients[name] = httpx.AsyncClient(
                base_url=url, timeout=timeout, limits=limits, follow_redirects=False
            )
            self.sessions[name] = self._session(forward_timeout, force_close=False)
            self.fresh_sessions[name] = self._session(forward_timeout, force_close=True)

    def _session(self, timeout: aiohttp.ClientTimeout, *, force_close: bool) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.settings.upstream_max_connections, limit_per_host=0,
            keepalive_timeout=None if force_close else self.settings.upstream_keepalive_s,
            force_close=force_close, enable_cleanup_closed=False,
        )
        return aiohttp.ClientSession(
            connector=connector, timeout=timeout,
            auto_decompress=False, skip_auto_headers=_NO_AUTO_HEADERS,
            # The gateway keeps no cookies: a service's Set-Cookie goes to the caller only.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()),
                             *(s.close() for s in self.sessions.values()),
                             *(s.close() for s in self.fresh_sessions.values()))
        self.clients.clear()
        self.sessions.clear()
        self.fresh_sessions.clear()

    def client(self, name: str) -> httpx.AsyncClient:
        return self.clients[name]

    async def mount(self, name: str, app: ASGIApp) -> None:
        """Serve upstream `name` from an ASGI app in this process instead of over the network:
        the gateway's route table, access rules and merged OpenAPI in front of in-process
        services (the fuzzing and tenant-isolation tests)."""
        await self.clients[name].aclose()
        self.clients[name] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                               base_url=f"http://{name}")
        self.in_process.add(name)

    def url_of(self, name: str, raw_path: bytes, query: bytes) -> URL:
        target = self.urls[name].rstrip("/") + raw_path.decode("latin-1")
        if query:
            target += "?" + query.decode("latin-1")
        return URL(target, encoded=True)  # sent exactly as the caller wrote it

    async def send(self, name: str, method: str, url: URL, headers: dict[str, str],
                   body: bytes) -> aiohttp.ClientResponse:
        """Send on a pooled connection. aiohttp itself sends an idempotent request once more
        when the service had closed a kept-alive connection (RFC 9112 9.3.1); a POST is sent
        again here, on a fresh connection, only when it surely never reached the service."""
        data = body or None
        try:
            return await self.sessions[name].request(method, url, headers=headers, data=data,
                                                     allow_redirects=False)
        except aiohttp.ClientConnectionError as exc:
            keyed = "idempotency-key" in headers
            if not never_reached(exc, method, keyed=keyed):
                raise
            self.retried += 1
            log.info("%s closed a kept-alive connection (%s); sending %s %s again on a fresh one",
                     name, exc, method, url.path)
            return await self.fresh_sessions[name].request(method, url, headers=headers,
                                                           data=data, allow_redirects=False)


def never_reached(exc: BaseException, method: str, *, keyed: bool = False) -> bool:
    """The connection was gone before any answer: the service had closed it (after an
    unexpected error, or at its keep-alive timeout) and did not read what was sent on it.

    A clean close with no answer line back is sent again whatever its method; a reset (or a
    write that failed) only for idempotent methods (RFC 9110 9.2.2) and for a POST with an
    `Idempotency-Key` (`keyed`: the service answers a repeat with the first answer, so it is
    safe even if the first one did arrive). Timeouts are never sent again.
    """
    if isinstance(exc, (TimeoutError, aiohttp.ServerTimeoutError)):
        return False
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return exc.message is None or isinstance(exc.message, str)  # no answer line read
    if isinstance(exc, aiohttp.ClientOSError):
        return keyed or method.upper() in _IDEMPOTENT
    return False


_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def upstream_headers(request: Request) -> dict[str, str]:
    headers = {k: v for k in FORWARDED_REQUEST_HEADERS if (v := request.headers.get(k))}
    headers["x-request-id"] = request.state.request_id
    client_host = request.client.host if request.client else None
    prior = request.headers.get("x-forwarded-for")
    if client_host:
        headers["x-forwarded-for"] = f"{prior}, {client_host}" if prior else client_host
    headers["x-forwarded-proto"] = request.scope.get("scheme", "http")
    if host := request.headers.get("host"):
        headers["x-forwarded-host"] = host
    return headers


def response_headers(raw: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    """The service's answer headers as sent (repeated ones such as Set-Cookie kept), without
    hop-by-hop ones, those its Connection header names, and the ones the gateway sets."""
    pairs = [(k.lower(), v) for k, v in raw]
    named = {h.strip() for k, v in pairs if k == b"connection"
             for h in v.decode("latin-1").lower().split(",") if h.strip()}
    return [(k, v) for k, v in pairs
            if (name := k.decode("latin-1")) not in _DROPPED and name not in named]


def _unavailable(upstream: str) -> ApiError:
    return ApiError(502, "upstream_unavailable",
                    f"The {upstream} service cannot be reached right now; try again later.")


async def forward(request: Request, upstream: str) -> Response:
    """Send the request on to `upstream` and pass its answer back."""
    upstreams: Upstreams = request.app.state.upstreams
    url = upstreams.url_of(upstream, request.scope.get("raw_path") or request.scope["path"].encode(),
                           request.scope.get("query_string", b""))
    headers = upstream_headers(request)
    body = await request.body()
    method = request.method
    if upstream in upstreams.in_process:
        return await _forward_in_process(upstreams, upstream, method, url, headers, body)
    current = trace.get_current_span()
    if current.is_recording():
        # A client span, as the httpx instrumentation made: its origin only (O25), never the
        # path with its ids.
        with _tracer.start_as_current_span(
            method, kind=trace.SpanKind.CLIENT,
            attributes={"http.request.method": method, "http.method": method,
                        "url.full": f"{url.scheme}://{url.raw_authority}/…",
                        "http.url": f"{url.scheme}://{url.raw_authority}/…"},
        ) as span:
            propagate.inject(headers)
            answer = await _send(upstreams, upstream, method, url, headers, body)
            span.set_attribute("http.response.status_code", answer.status)
            span.set_attribute("http.status_code", answer.status)
            if answer.status >= 500:
                span.set_status(trace.StatusCode.ERROR)
    else:
        if current.get_span_context().is_valid:
            propagate.inject(headers)  # the trace goes on even when nothing records it here
        answer = await _send(upstreams, upstream, method, url, headers, body)
    raw_headers = response_headers(answer.raw_headers)
    length = answer.content_length
    if length is not None and length <= BUFFERED_BYTES:
        # A small answer (most of them) is read whole and sent in one piece: no streaming
        # machinery per chunk, and the connection is back in the pool before we answer.
        try:
            content = await answer.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unavailable(upstream) from exc
        finally:
            answer.release()
        response = Response(status_code=answer.status)
        response.body = content
        response.raw_headers = raw_headers  # the service's own content-length and type
        return response
    streaming = StreamingResponse(_relay(answer), status_code=answer.status,
                                  background=BackgroundTask(_release, answer))
    streaming.raw_headers.extend(raw_headers)
    return streaming


async def _forward_in_process(upstreams: Upstreams, upstream: str, method: str, url: URL,
                              headers: dict[str, str], body: bytes) -> Response:
    propagate.inject(headers)
    target = url.raw_path_qs
    answer = await upstreams.clients[upstream].request(method, target, headers=headers,
                                                      content=body)
    raw = tuple((k.encode("latin-1"), v.encode("latin-1"))
                for k, v in answer.headers.multi_items())
    response = Response(status_code=answer.status_code)
    response.body = answer.content
    response.raw_headers = response_headers(raw)
    return response


async def _send(upstreams: Upstreams, upstream: str, method: str, url: URL,
                headers: dict[str, str], body: bytes) -> aiohttp.ClientResponse:
    try:
        return await upstreams.send(upstream, method, url, headers, body)
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        timeout = upstreams.settings.upstream_timeout_s
        raise ApiError(
            504, "upstream_timeout",
            f"The {upstream} service did not answer within {timeout:g} s; try again later.",
        ) from exc
    except aiohttp.ClientError as exc:
        log.warning("%s %s to %s failed: %r", method, url.path, upstream, exc)
        raise _unavailable(upstream) from exc


async def _release(answer: aiohttp.ClientResponse) -> None:
    answer.release()


async def _relay(answer: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    # Releasing here too returns the connection to the pool when the caller hangs up
    # mid-stream (then the response's background task does not run).
    try:
        async for chunk in answer.content.iter_chunked(STREAM_CHUNK):
            yield chunk
    finally:
        answer.release()
