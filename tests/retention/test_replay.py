"""O25: an erased person never comes back from a backup. Dump a store's database, erase the
person, restore the dump, replay the erasures since the dump: the person is gone again, and the
replay is itself recorded with a signed certificate."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

from devstack.infra import create_database, drop_database, postgres_binary
from devstack.testing import Suite, app_client, auth, served, wait_for
from retention.erasure.certificate import verify
from retention.main import create_app as create_retention
from retention.settings import Settings as RetentionSettings
from training_records.main import create_app as create_training_records
from training_records.settings import Settings as TrainingRecordsSettings

DPO, OPERATOR = auth("dpo"), auth("operator")


async def _person_rows(dsn: str, person: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM person WHERE id = $1",
                                       uuid.UUID(person)))
    finally:
        await conn.close()


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


async def test_o25_backup_erase_restore_replay_the_person_is_gone_again(
    suite: Suite, tmp_path: Path,
) -> None:
    retention_dsn = await suite.new_database("retention")
    records_dsn = await suite.new_database("records")
    records_settings = TrainingRecordsSettings(**suite.env(records_dsn, "training-records"))

    async with contextlib.AsyncExitStack() as stack:
        # Served over HTTP: retention asks it whose participant a subject is (O17).
        records_app = contextlib.AsyncExitStack()
        records_url = await records_app.enter_async_context(
            served(create_training_records(records_settings)))
        records = await records_app.enter_async_context(httpx.AsyncClient(base_url=records_url))
        retention_settings = RetentionSettings(**{
            **suite.env(retention_dsn, "retention"), "training_records_url": records_url,
            "expected_stores": ["retention", "training-records"]})
        retention = await stack.enter_async_context(app_client(create_retention(retention_settings)))

        async def known() -> bool:
            body = (await retention.get("/healthz")).json()
            return {"retention", "training-records"} <= set(body.get("stores_known", []))

        await wait_for(known, timeout=30, what="the stores' inventories at retention")
        tenant = (await records.post("/v1/tenants", headers=OPERATOR,
                                     json={"name": "Backup BV"})).json()["id"]
        made = await records.post(f"/v1/tenants/{tenant}/participants",
                                  headers=auth("beheerder", tenant=tenant),
                                  json={"name": "Anna Terug", "email": "anna@example.nl",
                                        "birth_date": "1988-02-03"})
        assert made.status_code == 201, made.text
        person = made.json()["id"]

        # The nightly backup, then the erasure.
        dump = tmp_path / "training-records.dump"
        _run(str(postgres_binary("pg_dump")), "--format=custom", f"--file={dump}",
             f"--dbname={records_dsn}")
        backup_taken = datetime.now(UTC)
        job = await retention.post("/v1/erasure-jobs", headers=DPO, json={
            "scope": "subject", "subject_id": person, "reason_code": "subject_request",
            "reference": "SR-2026-0042"})
        assert job.status_code == 202, job.text

        async def completed() -> bool:
            body = (await retention.get(f"/v1/erasure-jobs/{job.json()['id']}",
                                        headers=DPO)).json()
            return body["status"] == "completed"

        await wait_for(completed, what="the erasure job to complete")
        assert await _person_rows(records_dsn, person) == 0

        # The store's database is lost and restored from the backup: the person is back.
        await records_app.aclose()
        admin = urlsplit(records_dsn)._replace(path="/postgres").geturl()
        name = urlsplit(records_dsn).path.lstrip("/")
        await drop_database(admin, name)
        await create_database(admin, name)
        _run(str(postgres_binary("pg_restore")), "--no-owner", f"--dbname={records_dsn}",
             str(dump))
        assert await _person_rows(records_dsn, person) == 1
        records_app = contextlib.AsyncExitStack()
        stack.push_async_callback(records_app.aclose)
        await records_app.enter_async_context(
            app_client(create_training_records(records_settings)))

        # One command, while both services run.
        replay = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "retention", "replay", "--store", "training-records",
            "--since", backup_taken.isoformat(), "--by", "test-operator", "--timeout", "60",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "DATABASE_URL": retention_dsn})
        out, err = await asyncio.wait_for(replay.communicate(), timeout=90)
        assert replay.returncode == 0, (out.decode(), err.decode())
        assert await _person_rows(records_dsn, person) == 0

        # The replay is recorded: who, when, which erasure, the store's counts, signed.
        listed = (await retention.get("/v1/erasure-replays", headers=DPO)).json()["items"]
        assert [(r["store"], r["status"], r["requested_by"]) for r in listed] == [
            ("training-records", "completed", "test-operator")]
        recorded = (await retention.get(f"/v1/erasure-replays/{listed[0]['id']}",
                                        headers=DPO)).json()
        assert [i["job_id"] for i in recorded["items"]] == [job.json()["id"]]
        assert recorded["items"][0]["status"] == "completed"
        assert recorded["items"][0]["counts"]["person"] == 1
        certificate = recorded["certificate"]
        assert certificate["certificate"] == "erasure-replay"
        assert person not in str(certificate)
        verify(certificate, [retention_settings.signing_key.public_key()])


async def test_o25_a_replay_of_an_unknown_store_is_refused(suite: Suite) -> None:
    dsn = await suite.new_database("retention")
    settings = RetentionSettings(**{**suite.env(dsn, "retention"), "kafka_enabled": False})
    async with app_client(create_retention(settings)) as client:
        answer = await client.post("/v1/erasure-replays", headers=DPO, json={
            "store": "nowhere", "since": "2026-11-20T02:00:00Z"})
        assert answer.status_code == 422
        assert "nowhere" in answer.json()["error"]["message"]
        naive = await client.post("/v1/erasure-replays", headers=DPO, json={
            "store": "retention", "since": "2026-11-20T02:00:00"})
        assert naive.status_code == 422
        refused = await client.get("/v1/erasure-replays", headers=auth("beheerder", tenant="t"))
        assert refused.status_code == 403
    cli = subprocess.run([sys.executable, "-m", "retention", "replay", "--store", "x",
                          "--since", "2026-11-20T02:00:00"], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "DATABASE_URL": dsn})
    assert cli.returncode == 2 and "offset" in cli.stderr
