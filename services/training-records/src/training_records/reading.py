"""Reaching one person's records: the access rule, restriction, and the access log, in one place."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi import Request

from privacy_kit.auth import Principal
from training_records.access import (
    Reader,
    beheerder_sees,
    is_self,
    log_reads,
    not_assigned,
    reach_person,
    restricted_read,
)
from training_records.participants import service as participants


async def read_person(
    conn: asyncpg.Connection, *, principal: Principal, request: Request, tenant_id: uuid.UUID,
    participant_id: uuid.UUID, what: str, beheerder: bool = True,
) -> tuple[asyncpg.Record, Reader]:
    """The participant's row, after the access check (403 before 404, so another tenant learns
    nothing). A Beheerder gets 403 'restricted' for a restricted person; every read by someone
    other than the person is logged with `what` and the route (O3, O19)."""
    reader = reach_person(principal, tenant_id, participant_id, beheerder=beheerder)
    row = await participants.get_row(conn=conn, tenant_id=tenant_id, participant_id=participant_id)
    if reader.as_beheerder and row["restricted_at"] is not None:
        raise restricted_read()
    if reader.as_beheerder and not await beheerder_sees(conn, principal, tenant_id,
                                                        [participant_id]):
        raise not_assigned()
    if reader.is_other:
        await log_reads(conn, principal=principal, request=request, tenant_id=tenant_id,
                        subject_ids=[participant_id], what=what)
    return row, reader


async def visible_rows(
    conn: asyncpg.Connection, *, principal: Principal, request: Request, tenant_id: uuid.UUID,
    rows: list[dict[str, Any]], what: str, person: str = "participant_id",
) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    """Rows of a tenant list as the caller may see them: a Beheerder sees restricted people only
    as ids (returned second), and only the people they or their team registered or assigned
    (O2); every person shown is written to the access log (O3)."""
    hide = not principal.is_staff
    if hide and principal.has("beheerder"):
        mine = await beheerder_sees(conn, principal, tenant_id, {r[person] for r in rows})
        rows = [r for r in rows if r[person] in mine or is_self(principal, r[person])]
    shown = [r for r in rows if not (hide and r["restricted"])]
    restricted = sorted({r[person] for r in rows if hide and r["restricted"]})
    await log_reads(conn, principal=principal, request=request, tenant_id=tenant_id,
                    subject_ids={r[person] for r in shown}, what=what)
    return [{k: v for k, v in r.items() if k != "restricted"} for r in shown], restricted
