"""Pytest plugin: real PostgreSQL and a real Kafka-protocol broker, started once per session.

Each test gets a fresh database and a unique topic prefix, so tests cannot see each other's
rows or events. Set DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS to use servers of your own.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gc
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import pytest_asyncio
import uvicorn
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from devstack.infra import (
    Tansu,
    create_database,
    drop_database,
    free_port,
    start_embedded_postgres,
    with_database,
)
from privacy_kit.access_log import REASON_HEADER
from privacy_kit.auth import STAFF, mint_service_token, mint_token
from privacy_kit.events import Envelope
from privacy_kit.settings import DEV_SECRET, ServiceSettings

T = TypeVar("T")


@dataclass
class Suite:
    """What a test needs to build services on the session's infrastructure."""

    admin_dsn: str
    kafka_bootstrap: str
    topic_prefix: str
    _databases: list[str] = field(default_factory=list)

    async def new_database(self, label: str = "db") -> str:
        name = f"t_{label.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
        self._databases.append(name)
        return await create_database(self.admin_dsn, name)

    def topic(self, family: str) -> str:
        return f"{self.topic_prefix}{family}"

    def env(self, database_url: str, service_name: str) -> dict[str, Any]:
        """Keyword arguments for any service's settings class."""
        return {
            "service_name": service_name,
            "environment": "test",
            "database_url": database_url,
            "kafka_bootstrap_servers": self.kafka_bootstrap,
            "topic_prefix": self.topic_prefix,
            "topic_partitions": 1,
            "migrate_on_start": True,
            "relay_poll_interval_s": 0.2,
            "consumer_retry_backoff_s": 0.05,
            "jwt_secret": DEV_SECRET,
        }


def token(role: str | list[str], *, tenant: str | None = None, sub: str | None = None,
          ttl_s: int = 3600) -> str:
    return mint_token(DEV_SECRET, role=role, tenant=tenant, sub=sub, ttl_s=ttl_s)


# Staff state why they read a client's personal data (O3, privacy_kit.access_log); tests call
# as well-behaved staff unless they pass `reason=None` to see the refusal.
TEST_ACCESS_REASON = "test: checking the suite"


def auth(role: str | list[str], *, tenant: str | None = None, sub: str | None = None,
         reason: str | None = TEST_ACCESS_REASON) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token(role, tenant=tenant, sub=sub)}"}
    roles = {role} if isinstance(role, str) else set(role)
    if reason and roles & STAFF:
        headers[REASON_HEADER] = reason
    return headers


def service_auth(caller: str = "subject-rights") -> dict[str, str]:
    """Headers of a call from another service (role `service`), as the kit mints them."""
    settings = ServiceSettings(service_name=caller)
    return {"Authorization": f"Bearer {mint_service_token(settings)}"}


@asynccontextmanager
async def app_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan (pools, relay, consumers) and talk HTTP to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


class _QuietServer(uvicorn.Server):
    """A uvicorn server inside the test's event loop: it leaves the signal handlers alone."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def serve(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Run the app (with its lifespan) as a real HTTP server on 127.0.0.1 in this event loop and
    yield its base URL: for services that call each other over HTTP in one test process."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning",
                            access_log=False, timeout_graceful_shutdown=5)
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(), name=f"serve-{port}")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError(f"the app on port {port} did not start")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        done, _ = await asyncio.wait({task}, timeout=30)
        if not done:
            from privacy_kit.worker import cancel_and_wait

            await cancel_and_wait(task, f"serve-{port}")


async def wait_for(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 20.0, interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll until `probe` returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


async def read_events(
    bootstrap: str, topic: str, *, expect: int = 1, timeout: float = 20.0,
    match: Callable[[Envelope], bool] | None = None,
) -> list[Envelope]:
    """Read a topic from its beginning without a consumer group (no rebalance wait)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                metadata_max_age_ms=500)
    await consumer.start()
    found: list[Envelope] = []
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] | None = None
        while partitions is None and time.monotonic() < deadline:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            if partitions is None:
                await asyncio.sleep(0.1)
        if partitions is None:
            raise AssertionError(f"topic {topic} never appeared")
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while len(found) < expect and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    event = Envelope.model_validate_json(record.value or b"")
                    if match is None or match(event):
                        found.append(event)
    finally:
        await consumer.stop()
    return found


async def read_topic(bootstrap: str, topic: str, *, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Every message now on a topic, as the JSON that travelled (empty if the topic is absent)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return found
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and await _behind(consumer, ends):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(json.loads(r.value or b"null") for r in records)
    finally:
        await consumer.stop()
    return found


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    return any([await consumer.position(tp) < end for tp, end in ends.items()])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("hang_timeout_s", "seconds one test (setup, call and teardown) may take "
                  "before the run is stopped as hung, with every stack printed", default="600")


def _dump_hang(config: pytest.Config, nodeid: str, limit: float) -> None:
    """Print what every thread and every pending asyncio task was doing (a hung test is almost
    always an await that never returns), then stop the run: interrupt first, so that pytest
    reports and tears down; exit hard if even that hangs."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with contextlib.suppress(Exception):
            capture.suspend_global_capture(in_=False)
    out = sys.stderr
    out.write(f"\n\n=== {nodeid} has not finished after {limit:.0f} s: stopping the run ===\n")
    faulthandler.dump_traceback(file=out, all_threads=True)
    out.write("\n--- pending asyncio tasks ---\n")
    for task in [o for o in gc.get_objects() if isinstance(o, asyncio.Task)]:
        if not task.done():
            with contextlib.suppress(Exception):
                task.print_stack(file=out)
    out.flush()
    os.kill(os.getpid(), signal.SIGINT)  # a real signal: it also wakes a loop asleep in select
    time.sleep(120)
    out.write("=== still running two minutes after the interrupt: exiting ===\n")
    out.flush()
    for pid in _children():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    os._exit(3)


def _children() -> list[int]:
    me, found = str(os.getpid()), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == me:
                    found.append(int(entry.name))
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A test that hangs stops the run within `hang_timeout_s` with its stacks printed, instead
    of holding CI until its own time limit says nothing useful."""
    limit = float(item.config.getini("hang_timeout_s"))
    watchdog = threading.Timer(limit, _dump_hang, args=(item.config, item.nodeid, limit))
    watchdog.daemon = True
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()


def pytest_configure(config: pytest.Config) -> None:
    """Apps built in the test process keep pytest's own log capture: the kit's JSON log handler
    (installed once per process by any app not in `test` mode) is not installed here."""
    from privacy_kit import logs

    logs._configured = logging.NullHandler()


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> Iterator[str]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    # Unix socket paths are short: keep the data directory near the root.
    data_dir = Path(tempfile.mkdtemp(prefix="pgt", dir="/tmp"))
    server, dsn = start_embedded_postgres(data_dir, throwaway=True)
    yield dsn
    del server


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    broker = Tansu(log_file=tmp_path_factory.mktemp("tansu") / "tansu.log").start()
    yield broker.bootstrap
    broker.stop()


async def _suite(admin_dsn: str, bootstrap: str) -> AsyncIterator[Suite]:
    s = Suite(admin_dsn, bootstrap, f"t{uuid.uuid4().hex[:8]}.")
    yield s
    for name in s._databases:
        await drop_database(s.admin_dsn, name)


@pytest_asyncio.fixture
async def suite(postgres_admin_dsn: str, kafka_bootstrap: str) -> AsyncIterator[Suite]:
    """Fresh databases and topics for one test."""
    async for s in _suite(postgres_admin_dsn, kafka_bootstrap):
        yield s


@pytest_asyncio.fixture(scope="module")
async def module_suite(postgres_admin_dsn: str, kafka_bootstrap: str) -> AsyncIterator[Suite]:
    """Databases and topics shared by one test module: start running apps once per module."""
    async for s in _suite(postgres_admin_dsn, kafka_bootstrap):
        yield s


def served(app: FastAPI) -> AbstractAsyncContextManager[str]:
    """`serve` on a free port (the name some tests use)."""
    return serve(app)


__all__ = [
    "Suite",
    "app_client",
    "auth",
    "read_events",
    "read_topic",
    "serve",
    "served",
    "service_auth",
    "token",
    "wait_for",
    "with_database",
]
