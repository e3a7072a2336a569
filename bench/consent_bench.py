"""Consent benchmark: effective-consent reads at 50 connections and sequential saves.

Runs, on 127.0.0.1 only and bounded in time: embedded PostgreSQL, the consent service and the
gateway (uvicorn, one worker each, in subprocesses), and a bare FastAPI route as the yardstick.
Reads are driven by `wrk` (Debian package) when installed, else by an httpx asyncio loop.
Kafka is switched off: events still go into the outbox in the same transaction, so a save
costs what it costs in production minus the relay's later publish.

    .venv/bin/python bench/consent_bench.py [--duration 10] [--connections 50] [--saves 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bench.loadgen import run_load
from bench.result import print_result, row
from devstack.infra import create_database, free_port, start_embedded_postgres
from privacy_kit.auth import mint_token
from privacy_kit.settings import DEV_SECRET

SUBJECT = "bench-subject-1"
BODY = {"subject_id": SUBJECT, "policy_version": "2022-05-11", "objection": None,
        "consents": {"newsletter": {"granted": True, "source": "record"}}}


def bare_app() -> FastAPI:
    """The yardstick: a FastAPI route that does no work at all."""
    app = FastAPI()

    @app.get("/v1/subjects/{subject_id}/consents")
    async def consents(subject_id: str) -> dict[str, Any]:
        return BODY

    @app.put("/v1/subjects/{subject_id}/consents/{purpose}")
    async def save(subject_id: str, purpose: str) -> dict[str, Any]:
        return BODY

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@contextmanager
def serve(factory: str, env: dict[str, str]) -> Iterator[str]:
    """Start `factory` under uvicorn (one worker) on a free port; yield its URL once healthy.

    On a shared machine another process may take the free port between the choice and the
    bind: then the server exits and is started again on another port.
    """
    search_path = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH"))
        if p)
    for _attempt in range(5):
        port = free_port()
        cmd = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]
        proc = subprocess.Popen(cmd, env={**os.environ, **env, "PYTHONPATH": search_path})
        url = f"http://127.0.0.1:{port}"
        if _healthy(proc, url, timeout=120):
            break
        _stop(proc)
    else:
        raise RuntimeError(f"{factory} did not start")
    SERVER_PIDS[url] = proc.pid
    try:
        yield url
    finally:
        _stop(proc)


def _healthy(proc: subprocess.Popen[bytes], url: str, *, timeout: float) -> bool:
    """Our own process answers /healthz with 200 (not another process on the same port)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc.poll() is None
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wrk(url: str, token: str, *, connections: int, duration: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True, timeout=duration + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": _wrk_ms(out, "50%"), "p99_ms": _wrk_ms(out, "99%"),
            "errors": float(errors.group(1)) if errors else 0.0}


def _wrk_ms(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def httpx_load(url: str, token: str, *, connections: int, duration: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + duration
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(limits=limits, headers={"Authorization": f"Bearer {token}"}) as c:
        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                start = time.perf_counter()
                response = await c.get(url)
                latencies.append((time.perf_counter() - start) * 1000)
                errors += response.status_code != 200
        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    return {"rps": len(latencies) / elapsed, **_percentiles(latencies), "errors": float(errors)}


def _percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {"p50_ms": statistics.median(latencies), "p99_ms": cuts[98]}


def load_generator(choice: str) -> str:
    """`wrk` when installed (the issue's figures were taken with it), else the bench's own."""
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "loadgen"
    return choice


# Each server's process id by its base URL, to read the CPU time it spent.
SERVER_PIDS: dict[str, int] = {}


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reads(url: str, token: str, args: argparse.Namespace, *servers: str) -> dict[str, float]:
    """Closed-loop reads of `url`; with the CPU time each of `servers` spent per request.

    CPU per request does not depend on how many other processes share the machine; req/s
    does, and more so for a path through several processes (each hop waits to be scheduled).
    """
    generator = load_generator(args.loader)
    pids = [SERVER_PIDS[s] for s in servers]
    before = [cpu_seconds(p) for p in pids]
    if generator == "wrk":
        result = wrk(url, token, connections=args.connections, duration=args.duration)
    elif generator == "httpx":
        result = asyncio.run(httpx_load(url, token, connections=args.connections,
                                        duration=args.duration))
    else:
        result = run_load(url, connections=args.connections, duration=args.duration,
                          headers={"Authorization": f"Bearer {token}"})
    after = [cpu_seconds(p) for p in pids]
    requests = result["rps"] * result.get("seconds", args.duration)
    if requests and all(v is not None for v in (*before, *after)):
        result["server_cpu_ms"] = sum(
            (a - b) for a, b in zip(after, before, strict=True)  # type: ignore[operator]
        ) * 1000 / requests
    return result


def sequential_saves(base: str, token: str, count: int) -> dict[str, float]:
    latencies: list[float] = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        for i in range(count):
            body = {"granted": i % 2 == 0, "method": "settings_page"}
            start = time.perf_counter()
            response = client.put(f"{base}/v1/subjects/{SUBJECT}/consents/newsletter", json=body)
            latencies.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
    return _percentiles(latencies)


def explain_read(database_url: str) -> str:
    """The plan of the read path's one statement, to show it stays on the index."""
    from consent.ledger.service import STATE_SQL

    async def plan() -> str:
        import asyncpg

        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(f"EXPLAIN {STATE_SQL}", SUBJECT)
        finally:
            await conn.close()
        return "\n".join(r[0] for r in rows)

    return asyncio.run(plan())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--loader", choices=("auto", "wrk", "loadgen", "httpx"), default="auto",
                        help="load generator for the reads: wrk if installed, else bench.loadgen")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-tracing", action="store_true",
                        help="OTEL_SDK_DISABLED=true in the services: shows what spans cost")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="pgb", dir="/tmp"))
    server, admin_dsn = start_embedded_postgres(data_dir, throwaway=True)
    database_url = asyncio.run(create_database(admin_dsn, f"bench_{uuid.uuid4().hex[:8]}"))
    token = mint_token(DEV_SECRET, role="participant", tenant="t1", sub=SUBJECT)
    # One worker per server (uvicorn reads WEB_CONCURRENCY): the targets measure the code.
    common = {"KAFKA_ENABLED": "false", "JWT_SECRET": DEV_SECRET, "ENVIRONMENT": "test",
              "WEB_CONCURRENCY": "1"}
    if args.no_tracing:
        common["OTEL_SDK_DISABLED"] = "true"
    consent_env = {**common, "DATABASE_URL": database_url, "MIGRATE_ON_START": "true",
                   "DB_POOL_MIN": "5", "DB_POOL_MAX": "20"}
    results: dict[str, Any] = {"connections": args.connections, "duration_s": args.duration,
                               "load_generator": load_generator(args.loader), "cpus": os.cpu_count(),
                               "load_average_before": os.getloadavg()[0],
                               "tracing": not args.no_tracing}
    path = f"/v1/subjects/{SUBJECT}/consents"
    with serve("bench.consent_bench:bare_app", common) as bare, \
            serve("consent.main:create_app", consent_env) as consent, \
            serve("gateway.main:create_app", {**common, "CONSENT_URL": consent}) as gateway:
        for purpose in ("newsletter", "analytics", "advertising"):  # a realistic ledger
            httpx.put(f"{consent}{path}/{purpose}", json={"granted": True},
                      headers={"Authorization": f"Bearer {token}"}).raise_for_status()
        results["reads"] = {
            "bare_fastapi": reads(f"{bare}{path}", token, args, bare),
            "consent_direct": reads(f"{consent}{path}", token, args, consent),
            "consent_via_gateway": reads(f"{gateway}{path}", token, args, gateway, consent),
        }
        results["sequential_saves"] = {
            "bare_fastapi": sequential_saves(bare, token, args.saves),
            "consent_direct": sequential_saves(consent, token, args.saves),
            "consent_via_gateway": sequential_saves(gateway, token, args.saves),
        }
    results["read_plan"] = explain_read(database_url)
    del server
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results, args)
    print_result("consent", summary_rows(results), load_generator=results["load_generator"],
                 load_average_before=results["load_average_before"])


def summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets: reads as a share of bare FastAPI measured in the same run, and the
    sequential save through the gateway."""
    reads_, saves = results["reads"], results["sequential_saves"]
    bare = reads_["bare_fastapi"]["rps"]
    rows = [row("bare FastAPI read, 50 conn", bare, "req/s", note=_cpu_note(reads_["bare_fastapi"]))]
    for name, label, share in (("consent_direct", "consent read direct", 35.0),
                               ("consent_via_gateway", "consent read via gateway", 20.0)):
        rps = reads_[name]["rps"]
        rows.append(row(f"{label}, 50 conn", rps, "req/s",
                        note=f"p50 {reads_[name]['p50_ms']:.1f} ms; {_cpu_note(reads_[name])}"))
        rows.append(row(f"{label} / bare", 100 * rps / bare if bare else 0.0, "%",
                        target=(">=", share)))
    # The same comparison by CPU time per request (every server process on the path, summed):
    # what the ratio would be if each path had the cores to itself, whatever else runs.
    bare_cpu = reads_["bare_fastapi"].get("server_cpu_ms")
    for name, label in (("consent_direct", "direct"), ("consent_via_gateway", "via gateway")):
        cpu = reads_[name].get("server_cpu_ms")
        if bare_cpu and cpu:
            rows.append(row(f"consent read {label}: bare CPU / path CPU", 100 * bare_cpu / cpu,
                            "%", note=f"{cpu:.2f} vs {bare_cpu:.2f} ms of CPU per request"))
    rows.append(row("consent save direct, sequential p50",
                    saves["consent_direct"]["p50_ms"], "ms"))
    rows.append(row("consent save via gateway, sequential p50",
                    saves["consent_via_gateway"]["p50_ms"], "ms", target=("<", 5.0)))
    return rows


def _cpu_note(result: dict[str, float]) -> str:
    cpu = result.get("server_cpu_ms")
    return "" if cpu is None else f"server CPU {cpu:.2f} ms/req"


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"load generator: {results['load_generator']}, {args.connections} connections, "
          f"{args.duration} s per run, {results['cpus']} CPUs, tracing {results['tracing']}, "
          f"load average before {results['load_average_before']:.2f}")
    print(f"{'reads':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}"
          f"{'server CPU ms/req':>19}{'load generator CPU s':>22}")
    for name, r in results["reads"].items():
        server = r.get("server_cpu_ms")
        generator = r.get("loadgen_cpu_s")
        print(f"{name:<22}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}"
              f"{r['errors']:>8.0f}{'-' if server is None else f'{server:.3f}':>19}"
              f"{'-' if generator is None else f'{generator:.1f}':>22}")
    print(f"{'sequential saves':<22}{'p50 ms':>10}{'p99 ms':>10}")
    for name, r in results["sequential_saves"].items():
        print(f"{name:<22}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}")
    print("read path plan:\n" + results["read_plan"])


if __name__ == "__main__":
    main()
