"""A tiny real upstream: a FastAPI app served by uvicorn on a free 127.0.0.1 port.

It echoes what reached it (method, path, query, headers, body), sleeps when asked, and has an
OpenAPI document with a public /v1 path and an /internal one, like a real service.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from devstack.infra import free_port, wait_for_port
from gateway.settings import Settings
from privacy_kit.settings import DEV_SECRET


class Purpose(BaseModel):
    name: str
    description: str


class ExportBundle(BaseModel):
    subject_id: str


def echo_app() -> FastAPI:
    app = FastAPI(title="echo")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"service": "echo", "status": "ok"}

    @app.get("/v1/purposes", response_model=list[Purpose], tags=["purposes"])
    async def purposes() -> list[Purpose]:
        return [Purpose(name="marketing", description="news about trainings")]

    @app.get("/internal/export/{subject_id}", response_model=ExportBundle)
    async def export(subject_id: str) -> ExportBundle:
        return ExportBundle(subject_id=subject_id)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    async def echo(request: Request, path: str) -> JSONResponse:
        if "sleep" in request.query_params:
            await asyncio.sleep(float(request.query_params["sleep"]))
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "headers": dict(request.headers),
                "body": body.decode(),
                "pad": "x" * int(request.query_params.get("pad", "0")),
            },
            status_code=int(request.query_params.get("status", "200")),
            headers={"X-Upstream": "echo", "Set-Cookie": "a=1"},
        )

    return app


class ThreadedServer:
    def __init__(self, app: FastAPI, *, lifespan: str = "off") -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                           lifespan=lifespan)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadedServer:
        self.thread.start()
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        deadline = time.monotonic() + 5
        while self.thread.is_alive() and time.monotonic() < deadline:
            self.thread.join(0.1)


@pytest.fixture(scope="session")
def echo_url() -> Iterator[str]:
    server = ThreadedServer(echo_app()).start()
    yield server.url
    server.stop()


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], ThreadedServer]]:
    """Serve an app (its lifespan included) on a free port until the test ends."""
    started: list[ThreadedServer] = []

    def start(app: FastAPI) -> ThreadedServer:
        server = ThreadedServer(app, lifespan="on").start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def dead_url() -> str:
    """An address where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def gateway_settings(echo_url: str, dead_url: str) -> Settings:
    """Every upstream on the echo server except breach, which is down."""
    return Settings(
        environment="test",
        jwt_secret=DEV_SECRET,
        training_records_url=echo_url,
        consent_url=echo_url,
        retention_url=echo_url,
        breach_url=dead_url,
        subject_rights_url=echo_url,
        upstream_timeout_s=2,
        health_timeout_s=1,
    )
