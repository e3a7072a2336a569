"""Training-records benchmark: import a tenant of 10,000 participants with 100,000 progress rows,
then erase that tenant through the erasure.requested event.

Runs on 127.0.0.1 only: embedded PostgreSQL, the Tansu broker, and the training-records service
under uvicorn (one worker) in a subprocess, so that its peak memory (VmHWM) is its own.

    .venv/bin/python bench/training_records_bench.py [--participants 10000] [--modules 10]

Measured:
- import: one CSV file of all participants, POSTed to the import route (validated as a whole,
  stored in one transaction), over HTTP;
- progress: 100,000 module-progress rows (10 modules each) plus the assignments. There is no
  bulk progress route (progress arrives one module at a time from a participant's session), so
  they are loaded with COPY straight into the service's database; timed for information;
- erasure: from publishing `erasure.requested` (tenant scope) to reading `erasure.completed`;
- peak memory: the service process's VmHWM (peak resident set) from /proc, after both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from devstack.infra import (
    Tansu,
    create_database,
    free_port,
    start_embedded_postgres,
    wait_for_port,
)
from devstack.testing import read_events
from privacy_kit.auth import mint_token
from privacy_kit.events import Topic
from privacy_kit.protocol import ErasureRequested, ErasureScope, envelope
from privacy_kit.settings import DEV_SECRET

ROOT = Path(__file__).resolve().parent.parent


def _vm(pid: int, key: str) -> int:
    """A memory figure of a process in KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def _csv(n: int) -> str:
    rows = ["name,email,birth_date,phone,company,city"]
    for i in range(n):
        rows.append(f"Deelnemer {i},deelnemer{i}@example.org,19{50 + i % 50}-"
                    f"{1 + i % 12:02d}-{1 + i % 28:02d},+31 20 {i:07d},Bench B.V.,Utrecht")
    return "\n".join(rows) + "\n"


async def _load_progress(dsn: str, tenant: str, training: dict[str, Any],
                         participants: list[str]) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        tid, train = uuid.UUID(tenant), uuid.UUID(training["id"])
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "assignment", columns=["id", "tenant_id", "training_id", "participant_id"],
            records=[(uuid.uuid4(), tid, train, uuid.UUID(p)) for p in participants])
        progress = [(uuid.UUID(p), uuid.UUID(m["id"]), tid, now, now, 60 * (i + 1))
                    for p in participants for i, m in enumerate(training["modules"])]
        await conn.copy_records_to_table(
            "module_progress",
            columns=["participant_id", "module_id", "tenant_id", "started_at", "completed_at",
                     "time_spent_s"],
            records=progress)
        await conn.copy_records_to_table(
            "result", columns=["id", "tenant_id", "participant_id", "training_id", "score",
                               "passed", "recorded_by"],
            records=[(uuid.uuid4(), tid, uuid.UUID(p), train, 50 + i % 50, i % 3 != 0, "bench")
                     for i, p in enumerate(participants)])
        return len(progress)
    finally:
        await conn.close()


async def _erase(bootstrap: str, prefix: str, tenant: str) -> tuple[float, dict[str, Any]]:
    job = str(uuid.uuid4())
    # The typed event retention sends (privacy_kit.protocol): a dict missing a field would be
    # dead-lettered by the store and the bench would wait for an answer that never comes.
    event = envelope(ErasureRequested(
        job_id=uuid.UUID(job), stores=["training-records"],
        scope=ErasureScope(kind="tenant", tenant_id=tenant),
        deadline_at=datetime.now(UTC) + timedelta(days=30)), source="bench", tenant_id=tenant)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        started = time.perf_counter()
        await producer.send_and_wait(f"{prefix}{Topic.ERASURE}", event.model_dump_json().encode(),
                                     key=tenant.encode())
    finally:
        await producer.stop()
    [done] = await read_events(bootstrap, f"{prefix}{Topic.ERASURE}", timeout=600,
                               match=lambda e: e.type == "erasure.completed"
                               and e.data.get("job_id") == job)
    return time.perf_counter() - started, done.data


def _wait_healthy(url: str, *, consumer: bool, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{url}/healthz", timeout=2)
            if r.status_code == 200 and (not consumer or r.json()["consumer"]["assigned"]):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the service did not become healthy")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="trb", dir="/tmp"))
    server, admin_dsn = start_embedded_postgres(data_dir / "pg", throwaway=True)
    broker = Tansu(log_file=data_dir / "tansu.log").start()
    dsn = await create_database(admin_dsn, "training_records_bench")
    prefix = f"b{uuid.uuid4().hex[:6]}."
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": dsn,
           "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "TOPIC_PREFIX": prefix,
           "TOPIC_PARTITIONS": "1", "MIGRATE_ON_START": "true", "RELAY_POLL_INTERVAL_S": "0.2",
           "IMPORT_MAX_ROWS": str(max(args.participants, 50_000)),
           "IMPORT_MAX_BYTES": str(200 * 1024 * 1024)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "training_records.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    results: dict[str, Any] = {"participants": args.participants, "modules": args.modules,
                               "cpus": os.cpu_count()}
    try:
        wait_for_port(port, timeout=60)
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, consumer=True)
        results["rss_after_start_mib"] = round(_vm(proc.pid, "VmRSS") / 1024, 1)
        operator = {"Authorization": f"Bearer {mint_token(DEV_SECRET, role='operator')}"}
        async with httpx.AsyncClient(base_url=url, timeout=600) as client:
            tenant = (await client.post("/v1/tenants", headers=operator,
                                        json={"name": "Bench Org"})).json()["id"]
            training = (await client.post("/v1/trainings", headers=operator, json={
                "title": "Bench training",
                "modules": [{"title": f"Module {i}"} for i in range(args.modules)]})).json()
            body = _csv(args.participants)
            boss = {"Authorization": "Bearer " + mint_token(DEV_SECRET, role="beheerder",
                                                            tenant=tenant),
                    "Content-Type": "text/csv"}
            started = time.perf_counter()
            r = await client.post(f"/v1/tenants/{tenant}/participants/import", headers=boss,
                                  content=body)
            results["import_s"] = round(time.perf_counter() - started, 2)
            r.raise_for_status()
            ids = [p["id"] for p in r.json()["participants"]]
            results["imported"] = len(ids)
            results["csv_bytes"] = len(body.encode())
        results["rss_after_import_mib"] = round(_vm(proc.pid, "VmRSS") / 1024, 1)
        started = time.perf_counter()
        results["progress_rows"] = await _load_progress(dsn, tenant, training, ids)
        results["progress_copy_s"] = round(time.perf_counter() - started, 2)
        elapsed, done = await _erase(broker.bootstrap, prefix, tenant)
        results["erasure_s"] = round(elapsed, 2)
        results["erasure_counts"] = done["counts"]
        results["peak_rss_mib"] = round(_vm(proc.pid, "VmHWM") / 1024, 1)
    finally:
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
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--modules", type=int, default=10)
    outcome = asyncio.run(main(parser.parse_args()))
    print(json.dumps(outcome, indent=2))
    print("RESULT " + json.dumps({  # the last line, for `python -m bench`
        "bench": "training_records", "import_s": outcome["import_s"],
        "tenant_erasure_s": outcome["erasure_s"], "peak_rss_mib": outcome["peak_rss_mib"]}),
        flush=True)
