"""Run the whole suite on one machine: a database per service, migrations, one process each.

`Stack` is what `python -m devstack up` and the end-to-end tests share. It takes a running
PostgreSQL (an admin DSN on which it creates the databases) and a Kafka-compatible broker;
`devstack.__main__` decides whether those are embedded or given.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from devstack.infra import create_database, free_port, with_database
from privacy_kit.db import migrate

log = logging.getLogger(__name__)

# Store names (docs/conventions.md) in the order they are started.
STORES = ("training-records", "consent", "retention", "breach", "subject-rights")
GATEWAY = "gateway"
PACKAGES = {
    "training-records": "training_records",
    "consent": "consent",
    "retention": "retention",
    "breach": "breach",
    "subject-rights": "subject_rights",
    GATEWAY: "gateway",
}
DEFAULT_PORTS = {
    GATEWAY: 8000,
    "training-records": 8001,
    "consent": 8002,
    "retention": 8003,
    "breach": 8004,
    "subject-rights": 8005,
}
# How the gateway finds each service (gateway.settings.Settings, no prefix).
SERVICE_URL_VARIABLES = {
    "training-records": "TRAINING_RECORDS_URL",
    "consent": "CONSENT_URL",
    "retention": "RETENTION_URL",
    "breach": "BREACH_URL",
    "subject-rights": "SUBJECT_RIGHTS_URL",
}
# Set for the launcher, never meant for a child: each child gets its own.
_NOT_INHERITED = ("SERVICE_NAME", "DATABASE_URL", "OTEL_SERVICE_NAME")


class StackError(RuntimeError):
    """A part of the suite did not come up; the message says which and where its log is."""


@dataclass
class _Child:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Stack:
    """The five services and the gateway as separate uvicorn processes on 127.0.0.1."""

    def __init__(
        self,
        *,
        admin_dsn: str,
        kafka_bootstrap: str,
        ports: dict[str, int] | None = None,
        topic_prefix: str = "",
        env: dict[str, str] | None = None,
        log_dir: Path,
        database_prefix: str = "",
        services: tuple[str, ...] = STORES,
        start_timeout_s: float = 60.0,
        python: str = sys.executable,
        conventional_ports: bool = False,
        traces_dir: Path | None = None,
    ) -> None:
        unknown = set(services) - set(STORES)
        if unknown:
            raise ValueError(f"unknown services: {', '.join(sorted(unknown))}")
        self.admin_dsn = admin_dsn
        self.kafka_bootstrap = kafka_bootstrap
        self.topic_prefix = topic_prefix
        self.env = dict(env or {})
        self.log_dir = log_dir
        self.database_prefix = database_prefix
        self.services = services
        self.start_timeout_s = start_timeout_s
        self.python = python
        # Each process appends its spans to <traces_dir>/<name>.jsonl (`python -m devstack trace`).
        self.traces_dir = traces_dir
        # `make run` takes the documented ports (8000-8005) when free; tests and benchmarks
        # take any free ports, so that several of them can run on one machine at once.
        self.ports = _choose_ports((*services, GATEWAY), ports or {},
                                   conventional=conventional_ports)
        self._children: list[_Child] = []

    # What callers need to reach the suite.

    @property
    def gateway_url(self) -> str:
        return self.urls[GATEWAY]

    @property
    def urls(self) -> dict[str, str]:
        """Base URL of the gateway and of each service, by name."""
        return {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}

    @property
    def database_urls(self) -> dict[str, str]:
        """Each service's database, by store name."""
        return {name: with_database(self.admin_dsn, self.database_name(name))
                for name in self.services}

    def database_name(self, service: str) -> str:
        return f"{self.database_prefix}{PACKAGES[service]}"

    @property
    def log_files(self) -> dict[str, Path]:
        return {name: self.log_dir / f"{name}.log" for name in self.ports}

    # Starting and stopping.

    async def start(self) -> None:
        """Databases, migrations, processes; returns when every /healthz answers 200 and
        retention knows every store's inventory. On failure everything started is stopped."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            await self._prepare_databases()
            for name in (*self.services, GATEWAY):
                self._spawn(name)
            await self._wait_until_healthy()
            if "retention" in self.services:
                await self._wait_for_inventories()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process this stack started (by PID): SIGTERM, then SIGKILL after 10 s."""
        children, self._children = self._children, []
        for child in reversed(children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %s) ignored SIGTERM; killing it", child.name, child.process.pid)
                child.process.kill()
                child.process.wait()
            child.log_file.close()

    def kill(self, name: str) -> None:
        """SIGKILL one process, as a crash would (the fault tests use it)."""
        child = next(c for c in self._children if c.name == name)
        if child.process.poll() is None:
            child.process.kill()
            child.process.wait()

    async def restart(self, name: str) -> None:
        """Start one process again on its own port (stopping it first if it still runs) and
        return when its /healthz answers 200."""
        old = next(c for c in self._children if c.name == name)
        if old.process.poll() is None:
            old.process.send_signal(signal.SIGTERM)
            try:
                old.process.wait(10)
            except subprocess.TimeoutExpired:
                old.process.kill()
                old.process.wait()
        old.log_file.close()
        self._children.remove(old)
        self._spawn(name)
        async with httpx.AsyncClient(timeout=2) as client:
            await self._wait_healthy(client, self._children[-1])

    def pid(self, name: str) -> int:
        return next(c.process.pid for c in self._children if c.name == name)

    @property
    def running(self) -> dict[str, bool]:
        return {c.name: c.process.poll() is None for c in self._children}

    def exited(self) -> list[tuple[str, int]]:
        """Children that have stopped on their own, with their exit code."""
        return [(c.name, rc) for c in self._children if (rc := c.process.poll()) is not None]

    # The steps.

    async def _prepare_databases(self) -> None:
        dsns = {}
        # One after the other: CREATE DATABASE copies template1 and refuses concurrent copies.
        for name in self.services:
            dsns[name] = await create_database(self.admin_dsn, self.database_name(name))
        await asyncio.gather(*(self._migrate(name, dsn) for name, dsn in dsns.items()))

    async def _migrate(self, name: str, dsn: str) -> None:
        module = importlib.import_module(f"{PACKAGES[name]}.main")
        applied = await migrate(dsn, module.MIGRATIONS, namespace=name)
        if applied:
            log.info("%s: applied %s", name, ", ".join(applied))

    def _child_env(self, name: str) -> dict[str, str]:
        env = {**os.environ, **self.env}
        for key in _NOT_INHERITED:
            env.pop(key, None)
        env.update(
            PYTHONUNBUFFERED="1",
            OTEL_SERVICE_NAME=name,
            KAFKA_BOOTSTRAP_SERVERS=self.kafka_bootstrap,
            TOPIC_PREFIX=self.topic_prefix,
        )
        # Every process learns where each service is (the gateway needs it; a service that
        # calls another, like subject-rights asking each store for an export, may use it).
        for service, variable in SERVICE_URL_VARIABLES.items():
            env[variable] = self.urls.get(service, f"http://127.0.0.1:{free_port()}")
        if name != GATEWAY:
            env["DATABASE_URL"] = self.database_urls[name]
        # Retention waits for every store it expects: here, the stores this stack runs.
        env.setdefault("EXPECTED_STORES", json.dumps(list(self.services)))
        if self.traces_dir is not None:
            env["OTEL_TRACES_FILE"] = str(self.traces_dir / f"{name}.jsonl")
        return env

    async def add_replica(self, name: str) -> str:
        """One more process of a running service (same database, same consumer group), as a
        second Kubernetes replica would be; returns its label, e.g. `consent-2`. Its log and
        traces go to `<label>.log` and `<label>.jsonl`; it stops with the stack."""
        count = sum(1 for c in self._children if c.name == name)
        label = f"{name}-{count + 1}"
        env = self._child_env(name)
        if self.traces_dir is not None:
            env["OTEL_TRACES_FILE"] = str(self.traces_dir / f"{label}.jsonl")
        self._spawn(name, label=label, port=free_port(), env=env)
        async with httpx.AsyncClient(timeout=2) as client:
            await self._wait_healthy(client, self._children[-1])
        return label

    def replica_urls(self, name: str) -> dict[str, str]:
        """The URL of every process of one service, by label (the first is the name)."""
        return {c.log_path.stem: c.url for c in self._children if c.name == name}

    def _spawn(self, name: str, *, label: str | None = None, port: int | None = None,
               env: dict[str, str] | None = None) -> None:
        port = port or self.ports[name]
        log_path = self.log_dir / f"{label}.log" if label else self.log_files[name]
        log_file = open(log_path, "ab")  # closed in stop()
        # No proxy headers (nothing is in front of these processes: a caller could otherwise
        # choose its own address) and no uvicorn access log (the kit logs route templates).
        command = [self.python, "-m", "uvicorn", "--factory", f"{PACKAGES[name]}.main:create_app",
                   "--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers",
                   "--no-access-log"]
        process = subprocess.Popen(
            command,
            env=env or self._child_env(name),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Own session: a Ctrl-C in the terminal reaches the launcher, which stops the
            # children in order; the death signal stops them should the launcher be killed.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self._children.append(_Child(name, port, process, log_path, log_file))
        log.info("started %s (pid %s) on port %s", name, process.pid, port)

    async def _wait_until_healthy(self) -> None:
        async with httpx.AsyncClient(timeout=2) as client:
            await asyncio.gather(*(self._wait_healthy(client, c) for c in self._children))

    async def _wait_healthy(self, client: httpx.AsyncClient, child: _Child) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            self._check_alive(child)
            try:
                answer = await client.get(f"{child.url}/healthz")
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text[:300]}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            await asyncio.sleep(0.2)
        raise StackError(f"{child.name} was not healthy after {self.start_timeout_s:g} s "
                         f"(last: {last}); see {child.log_path}")

    async def _wait_for_inventories(self) -> None:
        """Retention must know every store before an erasure job can name them all."""
        retention = next(c for c in self._children if c.name == "retention")
        wanted = set(self.services)
        deadline = time.monotonic() + self.start_timeout_s
        known: set[str] = set()
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                self._check_alive(retention)
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    body: dict[str, Any] = (await client.get(f"{retention.url}/healthz")).json()
                    if "stores_known" not in body:
                        return  # a retention without an inventory: nothing to wait for
                    known = set(body["stores_known"])
                    if wanted <= known:
                        return
                await asyncio.sleep(0.25)
        missing = ", ".join(sorted(wanted - known))
        raise StackError(f"retention has no inventory from {missing} after "
                         f"{self.start_timeout_s:g} s; see the logs in {self.log_dir}")

    def _check_alive(self, child: _Child) -> None:
        code = child.process.poll()
        if code is not None:
            raise StackError(f"{child.name} exited with code {code}; last lines of "
                             f"{child.log_path}:\n{_tail(child.log_path)}")


def _choose_ports(
    names: tuple[str, ...], wanted: dict[str, int], *, conventional: bool
) -> dict[str, int]:
    """The port asked for, else the conventional one if wanted and free, else any free one."""
    chosen: dict[str, int] = {}
    for name in names:
        if name in wanted:
            chosen[name] = wanted[name]
        elif conventional and port_is_free(DEFAULT_PORTS[name]):
            chosen[name] = DEFAULT_PORTS[name]
        else:
            chosen[name] = free_port()
    return chosen


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # As uvicorn binds: a port whose last connections linger in TIME_WAIT is free to it.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: the kernel sends SIGTERM to the child when the launcher dies.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
