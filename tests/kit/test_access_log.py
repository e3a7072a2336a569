"""O3: the kit's access log: every read of personal data attributable, staff with a reason."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter

from devstack.testing import Suite, app_client, auth, service_auth
from privacy_kit.access_log import (
    ERASED_ACTOR,
    AccessLogged,
    ReadLog,
    forget_subject_reads,
    forget_tenant_reads,
)
from privacy_kit.app import DbConn, create_app
from privacy_kit.auth import CurrentPrincipal
from privacy_kit.db import create_pool, migrate
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider
from privacy_kit.settings import ServiceSettings

router = APIRouter()


@router.get("/v1/tenants/{tenant_id}/things/{subject_id}")
async def read_thing(
    tenant_id: str, subject_id: str, conn: DbConn, _: CurrentPrincipal,
    log: Annotated[ReadLog, AccessLogged("looking after things")],
) -> dict[str, str]:
    await log.record(conn, tenant_id=tenant_id, what="a thing")
    return {"subject_id": subject_id}


class Things(PrivacyProvider):
    store = "things"

    def inventory(self) -> list[DataCategory]:
        return [DataCategory(name="things", fields=["x"], purpose="p", legal_basis="b",
                             retention_rule="r")]

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        return {"things": [subject_id]}

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        return {}


async def _rows(app: Any, subject: str) -> list[asyncpg.Record]:
    async with app.state.pool.acquire() as conn:
        return list(await conn.fetch(
            "SELECT * FROM access_log WHERE subject_id = $1 ORDER BY id", subject))


async def test_o3_a_staff_read_without_a_reason_is_refused_and_with_one_recorded(
    suite: Suite, tmp_path: Path
) -> None:
    dsn = await suite.new_database("things")
    app = create_app(ServiceSettings(**suite.env(dsn, "things"), kafka_enabled=False),
                     title="things", provider=Things(), routers=[router], migrations=tmp_path)
    tenant, person, dpo = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    url = f"/v1/tenants/{tenant}/things/{person}"
    async with app_client(app) as client:
        refused = await client.get(url, headers=auth("dpo", sub=dpo, reason=None))
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["code"] == "access_reason_required"
        assert "X-Access-Reason" in error["message"]
        assert await _rows(app, person) == []

        too_long = {**auth("dpo", sub=dpo, reason=None), "X-Access-Reason": "x" * 501}
        assert (await client.get(url, headers=too_long)).status_code == 400

        ok = await client.get(url, headers=auth("dpo", sub=dpo, reason="ticket 4711: complaint"))
        assert ok.status_code == 200
        # The person reading their own data is not a recipient; their Beheerder is.
        assert (await client.get(url, headers=auth("participant", tenant=tenant,
                                                   sub=person))).status_code == 200
        boss = str(uuid.uuid4())
        assert (await client.get(url, headers=auth("beheerder", tenant=tenant,
                                                   sub=boss))).status_code == 200

        rows = await _rows(app, person)
        assert [(r["actor_sub"], r["actor_roles"], r["reason"]) for r in rows] == [
            (dpo, ["dpo"], "ticket 4711: complaint"), (boss, ["beheerder"], None)]
        assert all(r["purpose"] == "looking after things" and r["what"] == "a thing"
                   and r["tenant_id"] == tenant and r["read_at"] is not None for r in rows)
        assert rows[0]["route"] == "GET /v1/tenants/{tenant_id}/things/{subject_id}"

        # The person's export (their access bundle asks it) lists who read their data here,
        # and the export itself is a read by the service that asked.
        export = await client.get(f"/internal/subjects/{person}/export",
                                  headers=service_auth("subject-rights"))
        assert export.status_code == 200
        reads = export.json()["data"]["access_log"]["records"]
        assert [(r["actor"], r["reason"]) for r in reads] == [
            (dpo, "ticket 4711: complaint"), (boss, None)]
        last = (await _rows(app, person))[-1]
        assert (last["actor_sub"], last["actor_roles"]) == ("subject-rights", ["service"])
        assert last["route"] == "GET /internal/subjects/{subject_id}/export"


async def test_o3_o25_erasure_removes_the_persons_reads_and_keeps_theirs_without_them(
    suite: Suite,
) -> None:
    dsn = await suite.new_database("reads")
    await migrate(dsn)
    pool = await create_pool(dsn)
    try:
        async with pool.acquire() as conn:
            await conn.executemany(
                """INSERT INTO access_log (subject_id, tenant_id, actor_sub, actor_roles, what,
                                           purpose, route) VALUES ($1, $2, $3, '{beheerder}',
                                           'w', 'p', 'GET /x')""",
                [("gone", "t1", "boss"), ("other", "t1", "gone"), ("held", "t1", "boss"),
                 ("elsewhere", "t2", "boss")])
            assert await forget_subject_reads(conn, "gone") == 1
            rows = await conn.fetch("SELECT subject_id, actor_sub FROM access_log ORDER BY id")
            assert [tuple(r) for r in rows] == [
                ("other", ERASED_ACTOR), ("held", "boss"), ("elsewhere", "boss")]
            assert await forget_tenant_reads(conn, "t1", keep_subjects=["held"]) == 1
            left = await conn.fetch("SELECT subject_id FROM access_log ORDER BY id")
            assert [r["subject_id"] for r in left] == ["held", "elsewhere"]
    finally:
        await pool.close()


async def test_o3_training_records_earlier_access_log_is_taken_over_by_the_kits(
    suite: Suite,
) -> None:
    """A database whose training-records made the table first (uuid ids, no purpose) keeps
    its rows when the kit's migration 0006 takes the table over."""
    dsn = await suite.new_database("upgrade")
    conn = await asyncpg.connect(dsn)
    subject = uuid.uuid4()
    try:
        await conn.execute(
            """CREATE TABLE access_log (
                   id bigserial PRIMARY KEY, subject_id uuid NOT NULL, tenant_id uuid,
                   actor_sub text NOT NULL, actor_roles text[] NOT NULL, what text NOT NULL,
                   route text NOT NULL, read_at timestamptz NOT NULL DEFAULT now())""")
        await conn.execute(
            """INSERT INTO access_log (subject_id, actor_sub, actor_roles, what, route)
               VALUES ($1, 'boss', '{beheerder}', 'results', 'GET /r')""", subject)
        await migrate(dsn)
        row = await conn.fetchrow("SELECT * FROM access_log")
        assert row["subject_id"] == str(subject) and row["purpose"] == "results"
        assert row["reason"] is None
    finally:
        await conn.close()
