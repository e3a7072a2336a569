"""Retention sweep (O15, O16, O13): an approved sweep that anonymises 1,000,000 expired
module-progress records, on the whole suite.

Setup (COPY straight into training-records' database, timed for information): 5 trainings of
20 modules; 10,000 participants whose accounts were closed yesterday, each with 100
module-progress rows, 5 assignments and 5 results (the records whose term ended: training
history is kept while the account exists, then anonymised); 1% of them opted out of anonymised
data (O13); and 1,000 participants still active with the same history, which must stay.

Measured, through the gateway, with every service a uvicorn process of its own:
- dry run: `POST /v1/retention-sweeps` until `awaiting_approval` (every store counts what it
  would remove; training-records by erasing in a savepoint it rolls back), for information;
- sweep: `POST /v1/retention-sweeps/{id}/approve` until the sweep is `completed` (one
  category-scope erasure job per store and category; each store acts on its own timestamps
  and acknowledges over Kafka); then checked by counting in training-records' database: no
  progress row of a closed account left, every active one kept, and the per-module aggregate
  holds exactly the closed accounts that did not opt out;
- follow-up: the closed accounts are erased in every other store too (O25), one subject job
  per account that retention starts on training-records' request; with `--follow-up`, until
  none is pending, for information;
- each service's peak memory (VmHWM), reset at the approval (`/proc/<pid>/clear_refs`).

    .venv/bin/python bench/sweep_bench.py [--records 1000000] [--follow-up]

The last line is `RESULT {json}` with the key figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.memory import max_peak_row, peak_rows, peaks, reset_peaks
from bench.result import print_result, print_rows, row
from bench.seed import assign_with_results, copy_participants, seeding
from devstack.infra import Tansu, start_embedded_postgres
from devstack.stack import Stack
from devstack.testing import auth

TRAININGS, MODULES = 5, 20
PER_PERSON = TRAININGS * MODULES  # module-progress rows per participant
OPERATOR = auth("operator", sub="operator-bench")
DPO = auth("dpo", sub="dpo-bench")
CHUNK = 1000  # participants per COPY of their progress rows










class Load:
    """What was loaded, to check the sweep against."""

    def __init__(self, tenant: str, closed: list[uuid.UUID], opted: list[uuid.UUID],
                 active: list[uuid.UUID], modules: list[uuid.UUID]) -> None:
        self.tenant, self.closed, self.opted, self.active = tenant, closed, opted, active
        self.modules = modules


async def _load(stack: Stack, gw: httpx.AsyncClient, records: int) -> Load:
    made = await gw.post("/v1/tenants", headers=OPERATOR, json={"name": "Veeg Opleidingen BV"})
    made.raise_for_status()
    tenant = made.json()["id"]
    trainings = []
    for t in range(TRAININGS):
        made = await gw.post("/v1/trainings", headers=OPERATOR, json={
            "title": f"Training {t}", "modules": [{"title": f"Module {m}"} for m in range(MODULES)]})
        made.raise_for_status()
        trainings.append(made.json())
    tid = uuid.UUID(tenant)
    now = datetime.now(UTC)
    closed_at = now - timedelta(days=1)
    closing = max(1, -(-records // PER_PERSON))
    closed = [uuid.uuid4() for _ in range(closing)]
    active = [uuid.uuid4() for _ in range(max(1, closing // 10))]
    opted = closed[:: 100]
    modules = [uuid.UUID(m["id"]) for t in trainings for m in t["modules"]]
    async with seeding(stack.database_urls["training-records"]) as conn:
        await copy_participants(conn, tid, closed + active, created_at=now - timedelta(days=400),
                                closed_at=closed_at, closing=len(closed))
        await conn.copy_records_to_table(
            "anonymisation_opt_out", columns=["subject_id", "opted_out"],
            records=[(p, True) for p in opted])
        people = closed + active
        for training in trainings:
            train = uuid.UUID(training["id"])
            await assign_with_results(conn, tid, train, people)
        started = now - timedelta(days=200)
        for start in range(0, len(people), CHUNK):
            await conn.copy_records_to_table(
                "module_progress", columns=["participant_id", "module_id", "tenant_id",
                                            "started_at", "completed_at", "time_spent_s"],
                records=[(p, m, tid, started, started if k % 4 else None, 60 * (1 + k % 30))
                         for p in people[start:start + CHUNK] for k, m in enumerate(modules)])
    return Load(tenant, closed, opted, active, modules)


async def _sweep(gw: httpx.AsyncClient, sweep_id: str) -> dict[str, Any]:
    got = await gw.get(f"/v1/retention-sweeps/{sweep_id}", headers=DPO)
    got.raise_for_status()
    return dict(got.json())


async def _until(gw: httpx.AsyncClient, sweep_id: str, status: str,
                 timeout: float = 1800) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sweep = await _sweep(gw, sweep_id)
        if sweep["status"] == status:
            return sweep
        await asyncio.sleep(0.25)
    raise TimeoutError(f"sweep {sweep_id} never became {status}")


async def _answered(stack: Stack, sweep: dict[str, Any]) -> dict[str, float]:
    """Per store and category, when the store's answer to the sweep's job left its outbox
    (`sent_at`), in seconds after the approval: by then its records were gone."""
    approved = datetime.fromisoformat(sweep["approved_at"])
    jobs = {i["job_id"]: f"{i['store']}/{i['category']}" for i in sweep["items"] if i["job_id"]}
    found: dict[str, float] = {}
    for dsn in stack.database_urls.values():
        conn = await asyncpg.connect(dsn)
        try:
            for row in await conn.fetch(
                    """SELECT envelope->'data'->>'job_id' AS job, sent_at FROM outbox
                       WHERE envelope->>'type' = 'erasure.completed' AND sent_at IS NOT NULL
                         AND envelope->'data'->>'job_id' = ANY($1::text[])""", list(jobs)):
                found[jobs[row["job"]]] = round((row["sent_at"] - approved).total_seconds(), 1)
        finally:
            await conn.close()
    return found


async def _check(stack: Stack, load: Load) -> dict[str, Any]:
    """Count in training-records' database what the sweep left."""
    conn = await asyncpg.connect(stack.database_urls["training-records"])
    try:
        def left(table: str, people: list[uuid.UUID]) -> Any:
            return conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE participant_id = ANY($1::uuid[])", people)

        folded = await conn.fetch(
            "SELECT participants, scored FROM module_benchmark WHERE module_id = ANY($1::uuid[])",
            load.modules)
        found = {
            "closed_progress_left": await left("module_progress", load.closed),
            "closed_results_left": await left("result", load.closed),
            "closed_accounts_left": await conn.fetchval(
                "SELECT count(*) FROM person WHERE id = ANY($1::uuid[])", load.closed),
            "active_progress_kept": await left("module_progress", load.active),
            "per_module_participants": sorted({r["participants"] for r in folded}),
        }
    finally:
        await conn.close()
    expected_folded = len(load.closed) - len(load.opted)
    found["ok"] = (
        found["closed_progress_left"] == 0 and found["closed_results_left"] == 0
        and found["closed_accounts_left"] == 0
        and found["active_progress_kept"] == len(load.active) * PER_PERSON
        and found["per_module_participants"] == [expected_folded]
        and len(folded) == len(load.modules))
    return found


async def _follow_up(stack: Stack, since: datetime, accounts: int,
                     timeout: float = 3600) -> float:
    """Until every subject job started for the closed accounts has finished (retention's own
    database is read only to see that, not to act)."""
    started = time.perf_counter()
    conn = await asyncpg.connect(stack.database_urls["retention"])
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = await conn.fetchrow(
                """SELECT count(*) AS jobs,
                          count(*) FILTER (WHERE status NOT LIKE 'completed%') AS open
                   FROM erasure_job WHERE scope = 'subject' AND created_at >= $1""", since)
            if row["jobs"] >= accounts and row["open"] == 0:
                return round(time.perf_counter() - started, 1)
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    raise TimeoutError("the closed accounts' subject jobs did not finish")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="sweepb", dir="/tmp"))
    server, admin_dsn = start_embedded_postgres(home / "pg", throwaway=True)
    broker = Tansu(log_file=home / "tansu.log").start()
    stack = Stack(admin_dsn=admin_dsn, kafka_bootstrap=broker.bootstrap, ports={},
                  log_dir=home / "logs",
                  env={"RETENTION_SWEEP_INTERVAL_S": "0", "OTEL_SDK_DISABLED": "true",
                       "ERASURE_DEADLINE_S": "3600"})
    results: dict[str, Any] = {"records": args.records}
    try:
        await stack.start()
        if args.log_slow_ms is not None:
            conn = await asyncpg.connect(admin_dsn)
            try:
                await conn.execute(
                    f"ALTER SYSTEM SET log_min_duration_statement = {int(args.log_slow_ms)}")
                await conn.execute("SELECT pg_reload_conf()")
            finally:
                await conn.close()
            print(f"statements slower than {args.log_slow_ms} ms: {home / 'pg' / 'log'}")
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=900) as gw:
            started = time.perf_counter()
            load = await _load(stack, gw, args.records)
            results["progress_records"] = len(load.closed) * PER_PERSON
            results["closed_accounts"] = len(load.closed)
            results["opted_out"] = len(load.opted)
            results["load_s"] = round(time.perf_counter() - started, 1)

            started = time.perf_counter()
            made = await gw.post("/v1/retention-sweeps", headers=DPO)
            made.raise_for_status()
            sweep_id = made.json()["id"]
            dry_run = await _until(gw, sweep_id, "awaiting_approval")
            results["dry_run_s"] = round(time.perf_counter() - started, 1)
            counted = {f"{i['store']}/{i['category']}": i["counted"] for i in dry_run["items"]
                       if i["counted"]}
            results["counted"] = counted

            reset_peaks(stack)
            since = datetime.now(UTC)
            started = time.perf_counter()
            approved = await gw.post(f"/v1/retention-sweeps/{sweep_id}/approve", headers=OPERATOR)
            approved.raise_for_status()
            done = await _until(gw, sweep_id, "completed")
            results["sweep_s"] = round(time.perf_counter() - started, 1)
            results["peak_mib"] = peaks(stack)
            results["removed"] = {f"{i['store']}/{i['category']}": i["removed"]
                                  for i in done["items"] if i["removed"]}
            results["difference"] = done["totals"]["difference"]
            results["answered_after_approval_s"] = await _answered(stack, done)
            results["check"] = await _check(stack, load)
            if args.follow_up:
                results["follow_up_s"] = await _follow_up(stack, since, len(load.closed))
                results["follow_up_peak_mib"] = peaks(stack)
    finally:
        stack.stop()
        broker.stop()
        del server
    return results


def _report(results: dict[str, Any]) -> bool:
    print(json.dumps(results, indent=2))
    sweep = row("approved sweep, approval to completed", results["sweep_s"], "s",
                target=("<", 40.0))
    dry_run = row("dry run (every store counts)", results["dry_run_s"], "s")
    peak = results["peak_mib"]
    rows = [sweep, *peak_rows("during the sweep", peak), dry_run]
    summary = [sweep, *max_peak_row("sweep", peak), dry_run]  # the RESULT rows
    if "follow_up_s" in results:
        follow_up = row("follow-up: closed accounts erased everywhere", results["follow_up_s"],
                        "s")
        rows += [follow_up, *peak_rows("until the follow-up ended", results["follow_up_peak_mib"])]
        summary.append(follow_up)
    print()
    print_rows(rows)
    check = results.get("check", {})
    print(f"\nchecked in the database: {'ok' if check.get('ok') else 'WRONG'} {check}")
    print_result("sweep", summary, records=results.get("progress_records"),
                 checked=bool(check.get("ok")))  # the last line, for `python -m bench`
    return bool(check.get("ok"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=1_000_000,
                        help="expired module-progress records to anonymise (100 per account)")
    parser.add_argument("--log-slow-ms", type=float, default=None,
                        help="have PostgreSQL log statements slower than this (profiling)")
    parser.add_argument("--follow-up", action="store_true",
                        help="also wait for the closed accounts' erasure in the other stores")
    sys.exit(0 if _report(asyncio.run(main(parser.parse_args()))) else 1)
