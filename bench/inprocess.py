"""CPU per request of the consent app called in process (no sockets, no load generator).

Calls the app's ASGI callable directly, 500 times per route (a probe, the consent read and a
save), and prints the CPU time per request (`time.process_time()`), then with `--profile` a
cProfile of the consent read (or `--profile PUT`, the save) sorted by own time. On a
shared machine this is steadier than req/s: nothing but this process's own work is counted.
Starts its own embedded PostgreSQL; Kafka off.

    .venv/bin/python -m bench.inprocess [--calls 500] [--profile [PUT]]
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

# (method, path, body): a probe, the consent read, a save (alternately granting and
# withdrawing, so every call appends a record and announces a change).
ROUTES = (("GET", "/livez", b""), ("GET", "/v1/subjects/s1/consents", b""),
          ("PUT", "/v1/subjects/s1/consents/newsletter", b"granted"))


async def measure(app: Any, token: bytes, calls: int, profile: str | None) -> None:
    flip = [False]

    async def call(route: tuple[str, str, bytes]) -> None:
        method, path, body = route
        headers = [(b"host", b"bench"), (b"authorization", b"Bearer " + token)]
        if body:
            flip[0] = not flip[0]
            body = b'{"granted": %s}' % (b"true" if flip[0] else b"false")
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
                 "server": ("127.0.0.1", 80), "state": {}, "headers": headers}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] not in (200, 201):
            raise RuntimeError(f"{path} answered {sent[0]['status']}")

    async with app.router.lifespan_context(app):
        for route in ROUTES:
            for _ in range(50):
                await call(route)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                await call(route)
            print(f"{route[0]} {route[1]:<40} CPU {1000 * (time.process_time() - cpu) / calls:.3f} ms/request, "
                  f"wall {1000 * (time.perf_counter() - wall) / calls:.3f} ms", flush=True)
        if profile:
            route = next(r for r in ROUTES if profile in (r[0], r[1], f"{r[0]} {r[1]}"))
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(calls):
                await call(route)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--profile", nargs="?", const="/v1/subjects/s1/consents", default=None,
                        help="cProfile one route after measuring (default: the consent read; "
                             "PUT for the save)")
    args = parser.parse_args()
    server, admin = start_embedded_postgres(Path(tempfile.mkdtemp(prefix="pgin", dir="/tmp")),
                                            throwaway=True)
    dsn = asyncio.run(create_database(admin, f"inproc_{uuid.uuid4().hex[:8]}"))
    os.environ.update(DATABASE_URL=dsn, KAFKA_ENABLED="false", JWT_SECRET=DEV_SECRET,
                      ENVIRONMENT="test", MIGRATE_ON_START="true")
    from consent.main import create_app

    token = mint_token(DEV_SECRET, role="participant", tenant="t1", sub="s1").encode()
    asyncio.run(measure(create_app(), token, args.calls, args.profile))
    del server


if __name__ == "__main__":
    main()
