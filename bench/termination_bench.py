"""Contract termination (O18) of a big tenant, on the whole suite.

A tenant of 10,000 participants with 1,000,000 records: per participant 5 assignments, 90
module-progress rows (5 trainings of 18 modules) and 5 results in training-records, 2 consent
records in consent; plus 1,000 subject requests and 1,000 breach links. Loaded with COPY
straight into the stores' databases (setup, timed for information).

Measured, through the gateway, with every service a uvicorn process of its own:
- export: `POST /v1/contract-terminations/{id}/exports` until `ready` (every store streamed into
  one zip), then the download; the termination is then cancelled;
- termination: `POST /v1/contract-terminations` with yesterday as end date and a zero grace
  period, until the record shows `erased` with its certificate (the sweep starts a tenant-scope
  erasure job; every store erases and acknowledges over Kafka);
- each service's peak memory (VmHWM), reset before each phase (`/proc/<pid>/clear_refs`).

    .venv/bin/python bench/termination_bench.py [--participants 10000] [--no-export]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.memory import max_peak_row, peak_rows, peaks, reset_peaks
from bench.result import print_result, print_rows, row
from bench.seed import (
    access_requests,
    assign_with_results,
    copy_participants,
    progress,
    seeding,
    two_consents_each,
)
from devstack.infra import Tansu, start_embedded_postgres
from devstack.stack import Stack
from devstack.testing import auth

TRAININGS, MODULES = 5, 18
OPERATOR = auth("operator")










async def _load(stack: Stack, gw: httpx.AsyncClient, participants: int) -> tuple[str, int]:
    tenant = (await gw.post("/v1/tenants", headers=OPERATOR,
                            json={"name": "Groot Opleidingen BV"})).json()["id"]
    trainings = []
    for t in range(TRAININGS):
        made = await gw.post("/v1/trainings", headers=OPERATOR, json={
            "title": f"Training {t}", "modules": [{"title": f"Module {m}"} for m in range(MODULES)]})
        made.raise_for_status()
        trainings.append(made.json())
    tid, now = uuid.UUID(tenant), datetime.now(UTC)
    people = [uuid.uuid4() for _ in range(participants)]
    records = 0
    async with seeding(stack.database_urls["training-records"]) as conn:
        await copy_participants(conn, tid, people)
        records += participants
        for training in trainings:
            train = uuid.UUID(training["id"])
            await assign_with_results(conn, tid, train, people)
            modules = [uuid.UUID(m["id"]) for m in training["modules"]]
            await progress(conn, tid, people, modules, now)
            records += participants * (2 + len(modules))
    async with seeding(stack.database_urls["consent"]) as conn:
        records += await two_consents_each(conn, tenant, people, now)
    few = people[: max(1, participants // 10)]
    async with seeding(stack.database_urls["subject-rights"]) as conn:
        records += await access_requests(conn, tenant, few, now)
    dpo = auth("dpo")
    breach = await gw.post("/v1/breaches", headers=dpo, json={
        "title": "Bench breach", "description": "Many people affected.",
        "discovered_at": "2026-11-20T10:00:00Z"})
    assert breach.status_code == 201, breach.text
    added = await gw.post(f"/v1/breaches/{breach.json()['id']}/subjects", headers=dpo,
                          json={"subject_ids": [str(p) for p in few]})
    assert added.status_code == 200, added.text
    records += len(few)
    return tenant, records


async def _until(gw: httpx.AsyncClient, url: str, headers: dict[str, str], status: str,
                 timeout: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = (await gw.get(url, headers=headers)).json()
        if body["status"] == status:
            return body
        if body["status"] == "failed":
            raise RuntimeError(body)
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} never became {status}")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="termb", dir="/tmp"))
    server, admin_dsn = start_embedded_postgres(home / "pg", throwaway=True)
    broker = Tansu(log_file=home / "tansu.log").start()
    stack = Stack(admin_dsn=admin_dsn, kafka_bootstrap=broker.bootstrap, ports={},
                  log_dir=home / "logs",
                  env={"TERMINATION_GRACE_S": "0", "TERMINATION_SWEEP_INTERVAL_S": "0.5",
                       "OTEL_SDK_DISABLED": "true", "ERASURE_DEADLINE_S": "3600"})
    results: dict[str, Any] = {"participants": args.participants}
    try:
        await stack.start()
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=900) as gw:
            started = time.perf_counter()
            tenant, records = await _load(stack, gw, args.participants)
            results["records"] = records
            results["load_s"] = round(time.perf_counter() - started, 1)
            beheerder = auth("beheerder", tenant=tenant)
            if not args.no_export:
                future = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
                made = await gw.post("/v1/contract-terminations", headers=OPERATOR,
                                     json={"tenant_id": tenant, "end_date": future})
                made.raise_for_status()
                where = f"/v1/contract-terminations/{made.json()['id']}"
                reset_peaks(stack)
                started = time.perf_counter()
                asked = await gw.post(f"{where}/exports", headers=beheerder)
                asked.raise_for_status()
                ready = await _until(gw, f"{where}/exports/{asked.json()['id']}", beheerder,
                                     "ready")
                results["export_s"] = round(time.perf_counter() - started, 1)
                started = time.perf_counter()
                size = 0
                async with gw.stream("GET", f"{where}/exports/{ready['id']}/download",
                                     headers=beheerder) as download:
                    async for chunk in download.aiter_bytes():
                        size += len(chunk)
                results["download_s"] = round(time.perf_counter() - started, 1)
                results["export_mib"] = round(size / 2**20, 1)
                results["export_records"] = sum(s["records"] for s in ready["manifest"]["stores"].values())
                results["export_peak_mib"] = peaks(stack)
                (await gw.post(f"{where}/cancel", headers=OPERATOR)).raise_for_status()
            yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
            reset_peaks(stack)
            started = time.perf_counter()
            made = await gw.post("/v1/contract-terminations", headers=OPERATOR,
                                 json={"tenant_id": tenant, "end_date": yesterday})
            made.raise_for_status()
            done = await _until(gw, f"/v1/contract-terminations/{made.json()['id']}", OPERATOR,
                                "erased")
            results["termination_s"] = round(time.perf_counter() - started, 1)
            results["termination_peak_mib"] = peaks(stack)
            cert = done["certificate"]
            requested = datetime.fromisoformat(cert["requested_at"])
            results["erased"] = {s: v["erased"] for s, v in cert["stores"].items()}
            results["store_ack_after_job_s"] = {
                s: round((datetime.fromisoformat(v["acknowledged_at"]) - requested).total_seconds(), 1)
                for s, v in cert["stores"].items()}
    finally:
        stack.stop()
        broker.stop()
        del server
    return results


def _report(results: dict[str, Any]) -> None:
    print(json.dumps(results, indent=2))
    termination = row("termination of the tenant, end to end", results["termination_s"], "s",
                      target=("<", 30.0))
    peak = results["termination_peak_mib"]
    rows = [termination, *peak_rows("during termination", peak)]
    summary = [termination, *max_peak_row("termination", peak)]  # the RESULT rows
    if "export_s" in results:
        export = row("export (gather into one zip)", results["export_s"], "s")
        rows += [export, *peak_rows("during export", results["export_peak_mib"])]
        summary.append(export)
    print()
    print_rows(rows)
    print_result("termination", summary, participants=results["participants"],
                 records=results["records"])  # the last line, for `python -m bench`


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--no-export", action="store_true")
    _report(asyncio.run(main(parser.parse_args())))
