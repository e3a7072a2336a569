"""The gateway under upstream faults: a connection the service closed is retried once and never
shown as 502; an upstream that hangs answers 504 in time while other routes keep working; dead
letters in a service make the gateway's health say degraded.

The upstreams here are raw asyncio TCP servers on 127.0.0.1, so each fault is exact."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest_asyncio

from devstack.testing import app_client, auth
from gateway.main import create_app
from gateway.proxy import never_reached
from gateway.settings import Settings
from privacy_kit.settings import DEV_SECRET

# What the raw upstream does with the n-th request (1-based) on one connection.
Behaviour = Callable[[str, int], str]


def _answer(body: dict, status: str = "200 OK") -> bytes:
    raw = json.dumps(body).encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(raw)}\r\n\r\n").encode() + raw


class RawUpstream:
    """Reads HTTP/1.1 requests and does what `behaviour(path, n)` says: "answer", "close"
    (drop the connection without a byte), "hang" (never answer) or "dead-letters"."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests: list[str] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> RawUpstream:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = next((int(v) for k, _, v in (line.partition(": ") for line in lines)
                               if k.lower() == "content-length"), 0)
                if length:
                    await reader.readexactly(length)
                n += 1
                self.requests.append(path)
                action = self.behaviour(path, n)
                if action == "close":
                    break
                if action == "hang":
                    await asyncio.sleep(3600)
                if action == "dead-letters":
                    writer.write(_answer({"service": "raw", "status": "ok", "dead_letters": 3}))
                else:
                    writer.write(_answer({"path": path, "n": n}))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@pytest_asyncio.fixture(loop_scope="session")
async def upstreams() -> AsyncIterator[Callable[[Behaviour], RawUpstream]]:
    started: list[RawUpstream] = []

    async def start(behaviour: Behaviour) -> RawUpstream:
        upstream = await RawUpstream(behaviour).start()
        started.append(upstream)
        return upstream

    yield start  # type: ignore[misc]
    for upstream in started:
        await upstream.stop()


def _settings(**urls: str) -> Settings:
    return Settings(environment="test", jwt_secret=DEV_SECRET, upstream_timeout_s=1.5,
                    health_timeout_s=1, **urls)


async def test_a_connection_the_service_closed_is_retried_once_never_shown_as_502(upstreams) -> None:
    # The second request on every connection finds it closed, as after a 500 from uvicorn.
    consent = await upstreams(lambda path, n: "close" if n == 2 else "answer")
    settings = _settings(consent_url=consent.url)
    async with app_client(create_app(settings)) as gateway:
        answers = [await gateway.get("/v1/purposes") for _ in range(3)]
        answers.append(await gateway.post("/v1/cookie-choices", json={"analytics": False}))
        retried = gateway._transport.app.state.upstreams.retried  # type: ignore[attr-defined]
    assert [a.status_code for a in answers] == [200, 200, 200, 200], [a.text for a in answers]
    assert retried >= 1
    # Each request reached the service exactly once (the closed connection read nothing).
    assert consent.requests.count("/v1/cookie-choices") == 2  # one dropped read, one answered


async def test_an_upstream_that_hangs_is_504_in_time_and_others_are_still_served(upstreams) -> None:
    hanging = await upstreams(lambda path, n: "hang")
    healthy = await upstreams(lambda path, n: "answer")
    settings = _settings(consent_url=hanging.url, training_records_url=healthy.url)
    async with app_client(create_app(settings)) as gateway:
        started = time.monotonic()
        slow = asyncio.create_task(gateway.get("/v1/purposes"))
        await asyncio.sleep(0.2)
        others = [await gateway.get("/v1/certificates/c-1/verification") for _ in range(5)]
        others_done = time.monotonic() - started
        timed_out = await slow
        waited = time.monotonic() - started
    assert [o.status_code for o in others] == [200] * 5
    assert others_done < 1.5, "other routes waited for the hanging upstream"
    assert timed_out.status_code == 504, timed_out.text
    assert timed_out.json()["error"]["code"] == "upstream_timeout"
    assert 1.4 < waited < 3.0


async def test_dead_letters_in_a_service_make_the_gateway_degraded(upstreams) -> None:
    parked = await upstreams(lambda path, n: "dead-letters")
    fine = await upstreams(lambda path, n: "answer")
    settings = _settings(training_records_url=fine.url, consent_url=fine.url,
                         retention_url=parked.url, breach_url=fine.url,
                         subject_rights_url=fine.url)
    async with app_client(create_app(settings)) as gateway:
        health = await gateway.get("/v1/health/details", headers=auth("operator"))
        public = (await gateway.get("/healthz")).json()
    body = health.json()
    assert health.status_code == 200
    assert body["status"] == "degraded"
    # Anyone sees that it is degraded, not why.
    assert public["status"] == "degraded" and public["upstreams"]["retention"] == "degraded"
    assert public["upstreams"]["consent"] == "up" and "dead" not in str(public)
    assert body["upstreams"]["retention"]["state"] == "degraded"
    assert "dead-lettered" in body["upstreams"]["retention"]["reasons"][0]
    assert body["upstreams"]["consent"]["state"] == "ok"


def test_a_reset_while_reading_is_sent_again_only_when_repeating_is_safe() -> None:
    """A POST whose connection was reset may have reached the service: sent again only with an
    Idempotency-Key (the service answers the repeat with the first answer); GET/PUT always."""
    reset = aiohttp.ClientOSError(104, "Connection reset by peer")
    assert never_reached(reset, "GET") and never_reached(reset, "PUT")
    assert not never_reached(reset, "POST")
    assert never_reached(reset, "POST", keyed=True)
    # A close before the answer line: nothing was read, so any method goes again.
    assert never_reached(aiohttp.ServerDisconnectedError(), "POST")
    # A timeout is never sent again: the service may still be working on it.
    assert not never_reached(aiohttp.ServerTimeoutError("read timed out"), "GET")
