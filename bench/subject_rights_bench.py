"""Access bundle benchmark on devstack: a person with 1,000 training records and 200 consent
records; each round files an access request and times the Beheerder's approval, which gathers
every store's export over HTTP at once, the processing register, builds the zip (JSON per
store, CSV per table) and stores it. Median and worst of 20.

Run: `.venv/bin/python bench/subject_rights_bench.py [--rounds 20]`. Starts its own embedded
PostgreSQL and Tansu on free ports and the whole suite as real processes (devstack's `Stack`),
then stops them all.

The 1,000 training records are results of the participant (one per training, 1,000 trainings
of two modules each, assigned) loaded with COPY into training-records' database, as
`training_records_bench.py` loads progress: there is no bulk route. The 200 consent records
are written through the API (200 grants and withdrawals, each a chained ledger record).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from devstack.infra import Tansu, start_embedded_postgres
from devstack.stack import Stack
from devstack.testing import auth
from privacy_kit.auth import mint_service_token
from subject_rights import bundles
from subject_rights.settings import Settings


async def load_training_records(dsn: str, tenant_id: str, participant_id: str, n: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        trainings = [uuid.uuid4() for _ in range(n)]
        now = datetime.now(UTC)
        await conn.copy_records_to_table("training", columns=["id", "title"], records=[
            (t, f"Training {i}") for i, t in enumerate(trainings)])
        await conn.copy_records_to_table("assignment", columns=[
            "id", "tenant_id", "training_id", "participant_id", "assigned_by", "assigned_at"],
            records=[(uuid.uuid4(), uuid.UUID(tenant_id), t, uuid.UUID(participant_id),
                      "bench-beheerder", now) for t in trainings])
        await conn.copy_records_to_table("result", columns=[
            "id", "tenant_id", "participant_id", "training_id", "score", "passed",
            "recorded_at", "recorded_by"],
            records=[(uuid.uuid4(), uuid.UUID(tenant_id), uuid.UUID(participant_id), t,
                      60 + i % 40, i % 3 != 0, now, participant_id)
                     for i, t in enumerate(trainings)])
    finally:
        await conn.close()


async def parts(stack: Stack, subject: str, runs: int = 10) -> dict[str, list[float]]:
    """Where the time goes: each store's export alone, and the whole assembly in this process."""
    urls = {f"{name.replace('-', '_')}_url": url for name, url in stack.urls.items()}
    settings = Settings(**urls)
    found: dict[str, list[float]] = {}
    async with httpx.AsyncClient() as client:
        for _ in range(runs):
            for store, base in settings.store_urls.items():
                started = time.perf_counter()
                answer = await client.get(f"{base}/internal/subjects/{subject}/export",
                                          headers={"Authorization": "Bearer "
                                                   + mint_service_token(settings)})
                answer.raise_for_status()
                found.setdefault(f"export {store} alone", []).append(
                    time.perf_counter() - started)
            started = time.perf_counter()
            await bundles.assemble(client, settings, case_id=uuid.uuid4(), subject_id=subject,
                                   kind="access")
            found.setdefault("assembly (all stores at once, register, zip)", []).append(
                time.perf_counter() - started)
    return found


async def main(rounds: int, records: int, consents: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="bench", dir="/tmp"))
    server, admin_dsn = start_embedded_postgres(home / "pg", throwaway=True)
    broker = Tansu(log_file=home / "tansu.log").start()
    stack = Stack(admin_dsn=admin_dsn, kafka_bootstrap=broker.bootstrap, ports={},
                  log_dir=home / "logs")
    times: list[float] = []
    try:
        await stack.start()
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as gw:
            tenant = await gw.post("/v1/tenants", json={"name": "Bench BV"},
                                   headers=auth("operator"))
            tenant.raise_for_status()
            tenant_id = tenant.json()["id"]
            beheerder = auth("beheerder", tenant=tenant_id)
            person = await gw.post(f"/v1/tenants/{tenant_id}/participants", headers=beheerder,
                                   json={"name": "Bench Deelnemer", "email": "bench@example.nl",
                                         "birth_date": "1985-01-01"})
            person.raise_for_status()
            subject = person.json()["id"]
            participant = auth("participant", tenant=tenant_id, sub=subject)
            await load_training_records(stack.database_urls["training-records"], tenant_id,
                                        subject, records)
            for i in range(consents):
                (await gw.put(f"/v1/subjects/{subject}/consents/newsletter",
                              json={"granted": i % 2 == 0}, headers=participant)
                 ).raise_for_status()

            async def one_round() -> tuple[float, int]:
                filed = await gw.post("/v1/subject-requests", json={"kind": "access"},
                                      headers=participant)
                filed.raise_for_status()
                started = time.perf_counter()
                approved = await gw.post(f"/v1/subject-requests/{filed.json()['id']}/approval",
                                         json={}, headers=beheerder)
                elapsed = time.perf_counter() - started
                approved.raise_for_status()
                case = approved.json()
                if case["status"] != "completed" or not case["bundle"]["complete"]:
                    raise RuntimeError(f"bundle incomplete: {json.dumps(case['bundle'])}")
                return elapsed, case["bundle"]["size_bytes"]

            _, size = await one_round()  # warm-up, not counted
            for _ in range(rounds):
                elapsed, size = await one_round()
                times.append(elapsed)
            breakdown = await parts(stack, subject)
    finally:
        stack.stop()
        broker.stop()
        del server
    for part, seconds in breakdown.items():
        print(f"  {part}: median {statistics.median(seconds) * 1000:.0f} ms")
    ms = sorted(t * 1000 for t in times)
    print(f"access bundle ({records} training records, {consents} consent records, "
          f"zip {size / 1024:.0f} KiB) over {rounds} runs: median {statistics.median(ms):.0f} ms, "
          f"worst {ms[-1]:.0f} ms, best {ms[0]:.0f} ms")
    print("RESULT " + json.dumps({  # the last line, for `python -m bench`
        "bench": "subject_rights", "access_bundle_median_ms": round(statistics.median(ms)),
        "access_bundle_worst_ms": round(ms[-1])}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--consents", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.records, args.consents))
