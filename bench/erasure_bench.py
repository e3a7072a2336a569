"""Erasure round trip on devstack: POST /v1/erasure-jobs until `completed`, 20 times.

Run: `.venv/bin/python bench/erasure_bench.py [--rounds 20]`. Starts its own embedded
PostgreSQL and Tansu on free ports and the whole suite as real processes, then stops them all.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from devstack.infra import Tansu, start_embedded_postgres
from devstack.stack import Stack
from devstack.testing import auth


async def round_trip(gw: httpx.AsyncClient, tenant_id: str) -> float:
    beheerder = auth("beheerder", tenant=tenant_id)
    person = await gw.post(f"/v1/tenants/{tenant_id}/participants", headers=beheerder, json={
        "name": "Bench Deelnemer", "email": "bench@example.nl", "birth_date": "1985-01-01"})
    person.raise_for_status()
    subject = person.json()["id"]
    participant = auth("participant", tenant=tenant_id, sub=subject)
    (await gw.put(f"/v1/subjects/{subject}/consents/newsletter", json={"granted": True},
                  headers=participant)).raise_for_status()
    dpo = auth("dpo")
    started = time.perf_counter()
    job = await gw.post("/v1/erasure-jobs", headers=dpo,
                        json={"scope": "subject", "subject_id": subject, "reason": "bench"})
    job.raise_for_status()
    while True:
        state = (await gw.get(f"/v1/erasure-jobs/{job.json()['id']}", headers=dpo)).json()
        if state["status"] == "completed":
            return time.perf_counter() - started
        await asyncio.sleep(0.005)


async def main(rounds: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="bench", dir="/tmp"))
    server, admin_dsn = start_embedded_postgres(home / "pg")
    broker = Tansu(log_file=home / "tansu.log").start()
    stack = Stack(admin_dsn=admin_dsn, kafka_bootstrap=broker.bootstrap, ports={},
                  log_dir=home / "logs")
    try:
        await stack.start()
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as gw:
            tenant = await gw.post("/v1/tenants", json={"name": "Bench BV"}, headers=auth("operator"))
            tenant.raise_for_status()
            await round_trip(gw, tenant.json()["id"])  # warm-up, not counted
            times = [await round_trip(gw, tenant.json()["id"]) for _ in range(rounds)]
    finally:
        stack.stop()
        broker.stop()
        del server
    ms = sorted(t * 1000 for t in times)
    print(f"erasure round trip over {rounds} runs: median {statistics.median(ms):.0f} ms, "
          f"p90 {ms[int(len(ms) * 0.9) - 1]:.0f} ms, worst {ms[-1]:.0f} ms, best {ms[0]:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(main(parser.parse_args().rounds))
