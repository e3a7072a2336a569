"""Contract termination (O18): when a client's contract ends, the tenant's data stops growing,
is handed over on request until the end date, and is erased everywhere after a grace period.

scheduled --(end date passes: tenant.contract_terminated)--> effective
effective --(grace period passes)--> erasing (a tenant-scope erasure job) --> erased
effective --(a legal hold on the tenant)--> held --(released)--> erasing
scheduled --(cancelled by an operator or the tenant's Beheerder)--> cancelled
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from privacy_kit.outbox import emit
from privacy_kit.paging import Page, PageParams, page_of
from privacy_kit.protocol import ContractTerminated
from retention import cursor
from retention.erasure import service as erasure
from retention.erasure.models import ErasureJobCreate
from retention.termination.models import (
    ExportDownload,
    HoldShown,
    TenantExportRead,
    TerminationCreate,
    TerminationRead,
)


class AlreadyTerminated(Exception):
    """The tenant has a termination that is not cancelled."""


class NotCancellable(Exception):
    """Only a termination whose end date has not passed can be cancelled."""


def ends_at(end_date: date) -> datetime:
    """The contract's last day ends at midnight UTC."""
    return datetime.combine(end_date + timedelta(days=1), time(0), UTC)


async def record(
    *, conn: asyncpg.Connection, body: TerminationCreate, actor: str, grace: timedelta,
    source: str,
) -> uuid.UUID:
    termination_id = uuid.uuid4()
    end = ends_at(body.end_date)
    # The grace period runs from the contract's end, or from now for a termination recorded
    # after its end: the tenant always gets the grace it was promised.
    grace_from = max(end, datetime.now(UTC))
    try:
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO contract_termination (id, tenant_id, end_date, ends_at,
                       erase_after, reference, recorded_by)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                termination_id, body.tenant_id, body.end_date, end, grace_from + grace,
                body.reference,
                actor)
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyTerminated from exc
    await make_effective(conn=conn, source=source)  # an end date already past: at once
    return termination_id


async def make_effective(*, conn: asyncpg.Connection, source: str) -> int:
    """Terminations whose end has come: the stores are told the tenant may no longer grow."""
    rows = await conn.fetch(
        """UPDATE contract_termination SET status = 'effective', effective_at = now()
           WHERE id IN (SELECT id FROM contract_termination
                        WHERE status = 'scheduled' AND ends_at <= now()
                        FOR UPDATE SKIP LOCKED)
           RETURNING id, tenant_id, end_date, erase_after""")
    for row in rows:
        await emit(
            conn,
            ContractTerminated(termination_id=row["id"], end_date=row["end_date"],
                               erase_after=row["erase_after"]),
            source=source, tenant_id=row["tenant_id"], correlation_id=str(row["id"]),
        )
    return len(rows)


async def start_erasures(
    *, conn: asyncpg.Connection, secret: str, deadline: timedelta, source: str,
    expected_stores: list[str] | None = None,
) -> int:
    """Past end plus grace: one tenant-scope erasure job each. A legal hold on the tenant
    keeps it, visibly (`held`), and the next sweep tries again."""
    started = 0
    rows = await conn.fetch(
        """SELECT id, tenant_id FROM contract_termination
           WHERE status IN ('effective', 'held') AND erase_after <= now()
           ORDER BY erase_after FOR UPDATE SKIP LOCKED""")
    for row in rows:
        request = ErasureJobCreate(
            scope="tenant", tenant_id=row["tenant_id"], reason_code="contract_terminated",
            reference=f"termination/{row['id']}")
        try:
            async with conn.transaction():  # a savepoint: a refusal leaves nothing behind
                job_id = await erasure.create_job(
                    conn=conn, request=request, requested_by="retention: contract termination",
                    trigger="contract_termination", secret=secret, deadline=deadline,
                    source=source, expected_stores=expected_stores)
        except erasure.UnderLegalHold:
            await conn.execute(
                """UPDATE contract_termination SET status = 'held',
                       held_since = COALESCE(held_since, now()) WHERE id = $1""", row["id"])
            continue
        except erasure.NoStoresKnown:
            continue
        await conn.execute(
            """UPDATE contract_termination SET status = 'erasing', erasure_job_id = $2
               WHERE id = $1""", row["id"], job_id)
        started += 1
    return started


async def finish(*, conn: asyncpg.Connection) -> int:
    """Terminations whose erasure job every store acknowledged."""
    result = await conn.fetch(
        """UPDATE contract_termination t SET status = 'erased'
           FROM erasure_job j
           WHERE j.id = t.erasure_job_id AND t.status = 'erasing' AND j.completed_at IS NOT NULL
           RETURNING t.id""")
    return len(result)


async def cancel(
    *, conn: asyncpg.Connection, termination_id: uuid.UUID, actor: str
) -> None:
    status = await conn.fetchval(
        "SELECT status FROM contract_termination WHERE id = $1 FOR UPDATE", termination_id)
    if status != "scheduled":
        raise NotCancellable(status)
    await conn.execute(
        """UPDATE contract_termination SET status = 'cancelled', cancelled_by = $2,
               cancelled_at = now() WHERE id = $1""", termination_id, actor)


async def tenant_of(*, conn: asyncpg.Connection, termination_id: uuid.UUID) -> str | None:
    value = await conn.fetchval(
        "SELECT tenant_id FROM contract_termination WHERE id = $1", termination_id)
    return str(value) if value is not None else None


_READ = """SELECT t.*, j.status AS erasure_status, j.certificate
           FROM contract_termination t LEFT JOIN erasure_job j ON j.id = t.erasure_job_id"""


async def get(*, conn: asyncpg.Connection, termination_id: uuid.UUID) -> TerminationRead | None:
    row = await conn.fetchrow(f"{_READ} WHERE t.id = $1", termination_id)
    if row is None:
        return None
    return (await _views(conn, [row]))[0]


async def list_page(
    *, conn: asyncpg.Connection, paging: PageParams, tenant_id: str | None
) -> Page[TerminationRead]:
    after, after_id = cursor.time_and_id(paging.cursor)
    rows = await conn.fetch(
        f"""{_READ} WHERE ($1::text IS NULL OR t.tenant_id = $1)
              AND ($2::timestamptz IS NULL OR (t.recorded_at, t.id) < ($2, $3::uuid))
            ORDER BY t.recorded_at DESC, t.id DESC LIMIT $4""",
        tenant_id, after, after_id, paging.limit + 1)
    return page_of(await _views(conn, rows), paging,
                   key=lambda t: cursor.key(t.recorded_at, t.id))


async def _views(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[TerminationRead]:
    """Terminations with their exports, downloads and tenant holds, in four queries."""
    ids = [r["id"] for r in rows]
    tenants = sorted({r["tenant_id"] for r in rows})
    exports = await conn.fetch(
        """SELECT id, termination_id, tenant_id, status, requested_by, requested_at, ready_at,
                  expires_at, size_bytes, sha256, manifest::text AS manifest, error
           FROM tenant_export WHERE termination_id = ANY($1::uuid[])
           ORDER BY requested_at DESC, id""", ids)
    downloads = await conn.fetch(
        """SELECT export_id, downloaded_by, downloaded_at FROM tenant_export_download
           WHERE export_id = ANY($1::uuid[]) ORDER BY id""", [e["id"] for e in exports])
    holds = await conn.fetch(
        """SELECT id, tenant_id, placed_at FROM legal_hold
           WHERE released_at IS NULL AND subject_id IS NULL AND tenant_id = ANY($1::text[])
           ORDER BY placed_at""", tenants)
    by_export: dict[uuid.UUID, list[ExportDownload]] = {}
    for d in downloads:
        by_export.setdefault(d["export_id"], []).append(
            ExportDownload(downloaded_by=d["downloaded_by"], downloaded_at=d["downloaded_at"]))
    by_termination: dict[uuid.UUID, list[TenantExportRead]] = {}
    for e in exports:
        by_termination.setdefault(e["termination_id"], []).append(TenantExportRead(
            **{**dict(e), "manifest": json.loads(e["manifest"]) if e["manifest"] else None},
            downloads=by_export.get(e["id"], [])))
    by_tenant: dict[str, list[HoldShown]] = {}
    for h in holds:
        by_tenant.setdefault(h["tenant_id"], []).append(
            HoldShown(id=h["id"], placed_at=h["placed_at"]))
    return [_view(r, by_termination.get(r["id"], []), by_tenant.get(r["tenant_id"], []))
            for r in rows]


def _view(row: asyncpg.Record, exports: list[TenantExportRead],
          holds: list[HoldShown]) -> TerminationRead:
    fields: dict[str, Any] = {k: row[k] for k in TerminationRead.model_fields
                              if k not in ("holds", "exports", "certificate")}
    if row["status"] == "erasing" and row["certificate"] is not None:
        fields["status"] = "erased"  # the job completed since the last sweep
    return TerminationRead(
        **fields, holds=holds, exports=exports,
        certificate=json.loads(row["certificate"]) if row["certificate"] else None)
