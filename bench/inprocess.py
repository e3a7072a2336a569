"""CPU per request of the consent app called in process (no sockets, no load generator).

Calls the app's ASGI callable directly, 500 times per route, and prints the CPU time per
request (`time.process_time()`), then a cProfile of the consent read sorted by own time. On a
shared machine this is steadier than req/s: nothing but this process's own work is counted.
Starts its own embedded PostgreSQL; Kafka off.

    .venv/bin/python -m bench.inprocess [--calls 500] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from devstack.infra import create_database, start_embedded_postgres
from privacy_kit.auth import mint_token
from privacy_kit.settings import DEV_SECRET

ROUTES = ("/livez", "/v1/subjects/s1/consents")


async def measure(app: Any, token: bytes, calls: int, profile: bool) -> None:
    async def call(path: str) -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
                 "server": ("127.0.0.1", 80), "state": {},
                 "headers": [(b"host", b"bench"), (b"authorization", b"Bearer " + token)]}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 200:
            raise RuntimeError(f"{path} answered {sent[0]['status']}")

    async with app.router.lifespan_context(app):
        for path in ROUTES:
            for _ in range(50):
                await call(path)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                await call(path)
            print(f"{path:<32} CPU {1000 * (time.process_time() - cpu) / calls:.3f} ms/request, "
                  f"wall {1000 * (time.perf_counter() - wall) / calls:.3f} ms", flush=True)
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(calls):
                await call(ROUTES[-1])
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    server, admin = start_embedded_postgres(Path(tempfile.mkdtemp(prefix="pgin", dir="/tmp")))
    dsn = asyncio.run(create_database(admin, f"inproc_{uuid.uuid4().hex[:8]}"))
    os.environ.update(DATABASE_URL=dsn, KAFKA_ENABLED="false", JWT_SECRET=DEV_SECRET,
                      ENVIRONMENT="test", MIGRATE_ON_START="true")
    from consent.main import create_app

    token = mint_token(DEV_SECRET, role="participant", tenant="t1", sub="s1").encode()
    asyncio.run(measure(create_app(), token, args.calls, args.profile))
    del server


if __name__ == "__main__":
    main()
