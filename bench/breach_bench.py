"""Breach benchmark: register a breach with 100,000 affected subjects across 500 tenants and time
it until every tenant has its notice (O27).

Runs on 127.0.0.1 only: embedded PostgreSQL, the Tansu broker, training-records and breach each
under uvicorn (one worker) in a subprocess, breach asking training-records over HTTP.

    .venv/bin/python bench/breach_bench.py [--subjects 100000] [--tenants 500] [--rounds 3]

Setup (not timed): the tenants and participants are written with COPY straight into
training-records' database (the CSV import route would take minutes for 500 tenants and is
measured by its own benchmark), then VACUUM ANALYZE as on a long-lived table. Timed, per round:
`POST /v1/breaches` with all subject ids, to the 201 answer; the notices are written in that
request's transaction, so the answer means 500 notices exist. Each round registers a new breach
with the same subjects, after the previous round's events left the outbox; the first round (cold
service) is shown apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from devstack.infra import Tansu, create_database, free_port, start_embedded_postgres, wait_for_port
from privacy_kit.auth import mint_token
from privacy_kit.settings import DEV_SECRET

ROOT = Path(__file__).resolve().parent.parent


def _vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def _start(module: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"{module}:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)


def _wait_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not become healthy")


async def _drained(client: httpx.AsyncClient, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await client.get("/healthz")).json().get("outbox_backlog") == 0:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the breach outbox did not drain")


async def _seed(dsn: str, tenants: int, subjects: int) -> tuple[list[str], list[str]]:
    """Tenants and participants, round-robin, straight into training-records' tables."""
    tenant_ids = [uuid.uuid4() for _ in range(tenants)]
    people = [(uuid.uuid4(), tenant_ids[i % tenants], "participant", f"Deelnemer {i}",
               f"deelnemer{i}@example.org") for i in range(subjects)]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "tenant", columns=["id", "name"],
            records=[(t, f"Bench organisation {i}") for i, t in enumerate(tenant_ids)])
        await conn.copy_records_to_table(
            "person", columns=["id", "tenant_id", "kind", "name", "email"], records=people)
        # A long-lived table in real life: hint bits set, statistics fresh.
        await conn.execute("VACUUM ANALYZE person")
        await conn.execute("VACUUM ANALYZE tenant")
    finally:
        await conn.close()
    return [str(t) for t in tenant_ids], [str(p[0]) for p in people]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="brb", dir="/tmp"))
    server, admin_dsn = start_embedded_postgres(home / "pg", throwaway=True)
    broker = Tansu(log_file=home / "tansu.log").start()
    records_dsn = await create_database(admin_dsn, "training_records_bench")
    breach_dsn = await create_database(admin_dsn, "breach_bench")
    prefix = f"b{uuid.uuid4().hex[:6]}."
    records_port, breach_port = free_port(), free_port()
    common = {**os.environ, "PYTHONPATH": str(ROOT), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
              "TOPIC_PREFIX": prefix, "TOPIC_PARTITIONS": "1", "MIGRATE_ON_START": "true",
              "LOG_LEVEL": "WARNING"}
    records = _start("training_records.main", records_port, {
        **common, "DATABASE_URL": records_dsn, "SERVICE_NAME": "training-records"})
    breach = _start("breach.main", breach_port, {
        **common, "DATABASE_URL": breach_dsn, "SERVICE_NAME": "breach",
        "TRAINING_RECORDS_URL": f"http://127.0.0.1:{records_port}"})
    results: dict[str, Any] = {"subjects": args.subjects, "tenants": args.tenants,
                               "cpus": os.cpu_count()}
    try:
        for port in (records_port, breach_port):
            wait_for_port(port, timeout=60)
            _wait_healthy(f"http://127.0.0.1:{port}")
        started = time.perf_counter()
        _, subject_ids = await _seed(records_dsn, args.tenants, args.subjects)
        results["seed_s"] = round(time.perf_counter() - started, 2)
        body = {"title": "Bench: backup copy readable by a third party",
                "description": "A database backup was readable from outside.",
                "discovered_at": "2026-03-28T09:30:00+01:00", "nature": ["confidentiality"],
                "affected_subject_ids": subject_ids}
        results["request_bytes"] = len(json.dumps(body))
        dpo = {"Authorization": f"Bearer {mint_token(DEV_SECRET, role='dpo')}"}
        times = []
        results["load_average_before"] = os.getloadavg()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{breach_port}", timeout=600) as c:
            for _ in range(args.rounds + 1):  # the first one is the cold start, shown apart
                started = time.perf_counter()
                r = await c.post("/v1/breaches", headers=dpo, json=body)
                times.append(time.perf_counter() - started)
                r.raise_for_status()
                answer = r.json()
                assert answer["affected_subjects"] == args.subjects, answer
                assert answer["tenant_notices"]["total"] == args.tenants, answer
                await _drained(c)  # the relay's 500+ events are out before the next round
        conn = await asyncpg.connect(breach_dsn)
        try:
            notices = await conn.fetchval(
                "SELECT count(*) FROM breach_tenant_notification WHERE breach_id = $1",
                uuid.UUID(answer["id"]))
            counted = await conn.fetchval(
                "SELECT sum(affected_count) FROM breach_tenant_notification WHERE breach_id = $1",
                uuid.UUID(answer["id"]))
        finally:
            await conn.close()
        results["notices_per_breach"] = notices
        results["subjects_counted"] = counted
        results["register_cold_s"] = round(times[0], 2)
        results["register_s"] = [round(t, 2) for t in times[1:]]
        results["register_median_s"] = round(statistics.median(times[1:]), 2)
        results["load_average_after"] = os.getloadavg()
        results["breach_peak_rss_mib"] = round(_vm(breach.pid, "VmHWM") / 1024, 1)
    finally:
        for proc in (breach, records):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.stop()
        del server
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    outcome = asyncio.run(main(parser.parse_args()))
    print(json.dumps(outcome, indent=2))
    print("RESULT " + json.dumps({  # the last line, for `python -m bench`
        "bench": "breach", "breach_register_median_s": outcome["register_median_s"],
        "breach_peak_rss_mib": outcome["breach_peak_rss_mib"]}), flush=True)
