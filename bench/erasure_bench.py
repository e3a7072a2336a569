"""Subject erasures through the gateway: sustained throughput and the quiet round trip.

Starts its own embedded PostgreSQL and Tansu on free ports and the whole suite (five services
and the gateway, each one uvicorn process) on 127.0.0.1, then stops them all.

Setup (timed for information): one tenant and `--jobs` + `--rounds` + 1 subjects that hold
data in every store: in training-records a participant with an assignment, 18 module-progress
rows and a result; in consent two consent records; in subject-rights an access request; in
breach a link to one breach. Loaded with COPY straight into the stores' databases, the breach
links through the API.

Measured:
- round trip (quiet stack, one at a time): `POST /v1/erasure-jobs` through the gateway until
  `GET /v1/erasure-jobs/{id}` says `completed` (five stores erased and acknowledged over Kafka,
  certificate signed), `--rounds` times after one warm-up;
- throughput: `--jobs` subject erasure jobs posted through the gateway by `--concurrency`
  clients at once (all of them in flight together), from the first request until the last job
  is `completed` (read from retention's `completed_at`) → erasures per second; with the CPU
  time per job of every process (services, gateway, PostgreSQL, broker) and the commits per job
  in each service's database over that phase.

The last line is `RESULT {json}` for `python -m bench`.

    .venv/bin/python bench/erasure_bench.py [--jobs 1000] [--rounds 20] [--concurrency 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench.seed import (
    access_requests,
    assign_with_results,
    copy_participants,
    progress,
    seeding,
    two_consents_each,
)
from breach.register.models import REGISTER_EXAMPLE
from devstack.infra import Tansu, start_embedded_postgres
from devstack.stack import Stack
from devstack.testing import auth

MODULES = 18
OPERATOR = auth("operator")
DPO = auth("dpo")


async def _load(stack: Stack, gw: httpx.AsyncClient, people: list[uuid.UUID]) -> str:
    """Data about every person in every store."""
    tenant = (await gw.post("/v1/tenants", headers=OPERATOR,
                            json={"name": "Bench BV"})).json()["id"]
    made = await gw.post("/v1/trainings", headers=OPERATOR, json={
        "title": "Training", "modules": [{"title": f"Module {m}"} for m in range(MODULES)]})
    made.raise_for_status()
    training = made.json()
    tid, now = uuid.UUID(tenant), datetime.now(UTC)
    async with seeding(stack.database_urls["training-records"]) as conn:
        await copy_participants(conn, tid, people)
        train = uuid.UUID(training["id"])
        await assign_with_results(conn, tid, train, people)
        modules = [uuid.UUID(m["id"]) for m in training["modules"]]
        await progress(conn, tid, people, modules, now)
    async with seeding(stack.database_urls["consent"]) as conn:
        await two_consents_each(conn, tenant, people, now)
    async with seeding(stack.database_urls["subject-rights"]) as conn:
        await access_requests(conn, tenant, people, now)
    breach = await gw.post("/v1/breaches", headers=DPO, json={
        **REGISTER_EXAMPLE, "affected_subject_ids": [str(p) for p in people]})
    if breach.status_code != 201:
        raise RuntimeError(f"breach not registered: {breach.status_code} {breach.text[:500]}")
    return tenant


RETRIED = [0]


async def _post_job(gw: httpx.AsyncClient, subject: uuid.UUID) -> str:
    for attempt in range(3):
        try:
            job = await gw.post("/v1/erasure-jobs", headers=DPO, json={
                "scope": "subject", "subject_id": str(subject), "reason": "bench"})
            if job.status_code not in (502, 503, 504) or attempt == 2:
                break
            # Told to try again (503), or the gateway gave up waiting (504): as a platform
            # would, post again; counted, since a healthy run needs none.
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # A kept-alive connection closed under us; the job may exist, a second one for the
            # same subject completes as well (only the answered id is counted).
            if attempt == 2:
                raise
        RETRIED[0] += 1
    job.raise_for_status()
    return str(job.json()["id"])


async def round_trip(gw: httpx.AsyncClient, subject: uuid.UUID) -> float:
    started = time.perf_counter()
    job_id = await _post_job(gw, subject)
    while True:
        state = (await gw.get(f"/v1/erasure-jobs/{job_id}", headers=DPO)).json()
        if state["status"] == "completed":
            return time.perf_counter() - started
        await asyncio.sleep(0.005)


async def throughput(gw: httpx.AsyncClient, retention_dsn: str, people: list[uuid.UUID],
                     concurrency: int, timeout_s: float) -> dict[str, Any]:
    """Post every job (at most `concurrency` requests at once), then wait for all to complete."""
    queue = list(people)
    job_ids: list[str] = []

    async def client() -> None:
        while queue:
            job_ids.append(await _post_job(gw, queue.pop()))

    conn = await asyncpg.connect(retention_dsn)
    try:
        started_at = await conn.fetchval("SELECT clock_timestamp()")
        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        posted_s = time.perf_counter() - started
        ids = [uuid.UUID(j) for j in job_ids]
        while True:
            done, last = await conn.fetchrow(
                """SELECT count(*), max(completed_at) FROM erasure_job
                   WHERE id = ANY($1::uuid[]) AND status = 'completed'""", ids)
            if done == len(ids) or time.perf_counter() - started > timeout_s:
                break
            await asyncio.sleep(0.1)
        reemitted = await conn.fetchval(
            "SELECT coalesce(sum(reemitted), 0) FROM erasure_job WHERE id = ANY($1::uuid[])", ids)
    finally:
        await conn.close()
    seconds = (last - started_at).total_seconds() if done == len(ids) else timeout_s
    return {"jobs": len(ids), "completed": done, "posted_s": round(posted_s, 2),
            "all_completed_s": round(seconds, 2) if done == len(ids) else None,
            "erasures_per_s": round(done / seconds, 1), "reemitted": reemitted,
            "posts_retried": RETRIED[0]}


def _cpu_seconds(stack: Stack, broker: Tansu, pg_dir: Path) -> dict[int, tuple[str, float]]:
    """CPU time (user + system) so far of every process of the suite, by pid: the services and
    the gateway by name, PostgreSQL's postmaster and backends as `postgres`, the broker."""
    pids = {child.process.pid: child.name for child in stack._children}
    if broker.process is not None:
        pids[broker.process.pid] = "tansu"
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(pg_dir) in " ".join(proc.info["cmdline"] or ()):
            pids[proc.pid] = "postgres"
            for backend in proc.children():
                pids[backend.pid] = "postgres"
    seconds = {}
    for pid, name in pids.items():
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        seconds[pid] = (name, times.user + times.system)
    return seconds


def _cpu_per_job(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]],
                 jobs: int) -> dict[str, float]:
    """Milliseconds of CPU per job, by process, over the throughput phase (backends that
    ended meanwhile are not counted; the pooled ones live through the run)."""
    spent: dict[str, float] = {}
    for pid, (name, cpu) in after.items():
        spent[name] = spent.get(name, 0.0) + cpu - before.get(pid, (name, 0.0))[1]
    per_job = {name: round(1000 * cpu / max(jobs, 1), 2) for name, cpu in sorted(spent.items())}
    per_job["total"] = round(sum(per_job.values()), 2)
    return per_job


async def _commits(stack: Stack) -> dict[str, int]:
    """Transactions committed so far in each service's database (each one a WAL flush, unless
    it wrote nothing or committed without waiting)."""
    names = {stack.database_name(service): service for service in stack.services}
    conn = await asyncpg.connect(stack.admin_dsn)
    try:
        rows = await conn.fetch("SELECT datname, xact_commit FROM pg_stat_database")
    finally:
        await conn.close()
    return {names[r["datname"]]: int(r["xact_commit"]) for r in rows if r["datname"] in names}


def _profile(stack: Stack, out: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy on every process of the suite while the jobs run: one folded-stack file each
    (`<name>.txt`, for flame graphs or `sort | head`)."""
    out.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    return [subprocess.Popen([str(py_spy), "record", "--pid", str(child.process.pid),
                              "--format", "raw", "--rate", "200", "--nonblocking",
                              "--output", str(out / f"{child.name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for child in stack._children]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="erasureb", dir="/tmp"))
    server, admin_dsn = start_embedded_postgres(home / "pg", throwaway=True)
    broker = Tansu(log_file=home / "tansu.log").start()
    env = {f"CONSUMER_{k.upper()}": str(v) for k, v in (("fetch_max_wait_ms", args.fetch_wait_ms),
                                                         ("batch_size", args.batch),
                                                         ("parallel_partitions", args.parallel))
           if v is not None}
    stack = Stack(admin_dsn=admin_dsn, kafka_bootstrap=broker.bootstrap, ports={},
                  log_dir=home / "logs", env=env)
    results: dict[str, Any] = {}
    people = [uuid.uuid4() for _ in range(args.jobs + args.rounds + 1)]
    try:
        await stack.start()
        limits = httpx.Limits(max_connections=args.concurrency,
                              max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=120,
                                     limits=limits) as gw:
            started = time.perf_counter()
            await _load(stack, gw, people)
            results["load_s"] = round(time.perf_counter() - started, 1)
            await round_trip(gw, people[-1])  # warm-up, not counted
            ms = []
            for i in range(args.rounds):
                ms.append(1000 * await round_trip(gw, people[args.jobs + i]))
            ms.sort()
            results["round_trip_ms"] = {
                "p50": round(statistics.median(ms)), "p90": round(ms[int(len(ms) * 0.9) - 1]),
                "worst": round(ms[-1]), "best": round(ms[0]), "rounds": args.rounds}
            if args.jobs:
                profilers = _profile(stack, args.profile) if args.profile else []
                cpu_before = _cpu_seconds(stack, broker, home / "pg")
                commits_before = await _commits(stack)
                try:
                    results["throughput"] = await throughput(
                        gw, stack.database_urls["retention"], people[:args.jobs],
                        args.concurrency, args.timeout)
                    results["cpu_ms_per_job"] = _cpu_per_job(
                        cpu_before, _cpu_seconds(stack, broker, home / "pg"), args.jobs)
                    # Read after the CPU, so that these reads are not in it; the bench's own
                    # polling of retention's database adds a few commits there.
                    results["commits_per_job"] = {
                        name: round((n - commits_before.get(name, 0)) / max(args.jobs, 1), 1)
                        for name, n in (await _commits(stack)).items()}
                finally:
                    for profiler in profilers:
                        profiler.send_signal(signal.SIGINT)
                    for profiler in profilers:
                        profiler.wait(timeout=60)
    finally:
        stack.stop()
        broker.stop()
        del server
    return results


def _report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(json.dumps(results, indent=2))
    rt, tp = results["round_trip_ms"], results.get("throughput", {})
    print(f"erasure round trip over {rt['rounds']} runs: median {rt['p50']} ms, p90 {rt['p90']} ms, "
          f"worst {rt['worst']} ms, best {rt['best']} ms")
    if tp:
        print(f"{tp['jobs']} subject erasures in flight: posted in {tp['posted_s']} s, "
              f"{tp['completed']} completed after {tp['all_completed_s'] or args.timeout} s: "
              f"{tp['erasures_per_s']} erasures/s")
        print("commits per job: " + ", ".join(
            f"{name} {n}" for name, n in results.get("commits_per_job", {}).items()))
        print("CPU per job (ms): " + ", ".join(
            f"{name} {ms}" for name, ms in results.get("cpu_ms_per_job", {}).items()))
    summary = {"erasures_per_s": tp.get("erasures_per_s"), "round_trip_ms_p50": rt["p50"],
               "jobs": tp.get("jobs", 0)}
    print("RESULT " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=100,
                        help="requests posting jobs at once")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for all jobs")
    parser.add_argument("--fetch-wait-ms", type=int, help="CONSUMER_FETCH_MAX_WAIT_MS to try")
    parser.add_argument("--batch", type=int, help="CONSUMER_BATCH_SIZE to try")
    parser.add_argument("--parallel", type=int, help="CONSUMER_PARALLEL_PARTITIONS to try")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="py-spy every process while the jobs run; folded stacks into DIR")
    arguments = parser.parse_args()
    _report(asyncio.run(main(arguments)), arguments)
