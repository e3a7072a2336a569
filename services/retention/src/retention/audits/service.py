"""Audits per client (O29, processor agreement 001 §10): recorded by staff, read by the
client's Beheerders. A client may have at most one regular audit a year; an audit prompted by a
breach or an authority's order comes on top of that and says which."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, PageParams, page_of
from privacy_kit.sorting import Ordering, SortOrder
from retention.audits.models import AuditCreate, AuditRead, AuditUpdate
from retention.i18n import tr


def _year_later(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


async def record(
    *, conn: asyncpg.Connection, tenant_id: str, audit: AuditCreate, actor: str
) -> AuditRead:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 29))", tenant_id)
    if audit.prompted_by == "regular":
        other = await conn.fetchval(
            """SELECT audited_on FROM client_audit
               WHERE tenant_id = $1 AND prompted_by = 'regular'
                 AND audited_on > $2 AND audited_on < $3
               ORDER BY audited_on DESC LIMIT 1""",
            tenant_id, _year_earlier(audit.audited_on), _year_later(audit.audited_on))
        if other is not None:
            raise ApiError(
                409, "audit_limit_reached",
                tr("This client had a regular audit on {audited_on}; the processor agreement "
                   "(§10.1) allows at most one a year, so the next regular one can be held from "
                   "{next_from}. If this audit was prompted by a breach or an authority's "
                   "order, record it with prompted_by 'breach' or 'authority_order' and its "
                   "prompt_reference.", audited_on=f"{other:%Y-%m-%d}",
                   next_from=f"{_year_later(other):%Y-%m-%d}"))
    row = await conn.fetchrow(
        """INSERT INTO client_audit (id, tenant_id, audited_on, auditor, scope, findings,
               follow_up, follow_up_done_on, prompted_by, prompt_reference, recorded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *""",
        uuid.uuid4(), tenant_id, audit.audited_on, audit.auditor, audit.scope, audit.findings,
        audit.follow_up, audit.follow_up_done_on, audit.prompted_by, audit.prompt_reference,
        actor)
    return AuditRead.model_validate(dict(row))


async def update(
    *, conn: asyncpg.Connection, tenant_id: str, audit_id: uuid.UUID, change: AuditUpdate,
    actor: str,
) -> AuditRead:
    fields = change.model_dump(exclude_unset=True)
    current = await get(conn=conn, tenant_id=tenant_id, audit_id=audit_id)
    merged = {**current.model_dump(), **fields}
    row = await conn.fetchrow(
        """UPDATE client_audit SET findings = $3, follow_up = $4, follow_up_done_on = $5,
               updated_by = $6, updated_at = now()
           WHERE id = $1 AND tenant_id = $2 RETURNING *""",
        audit_id, tenant_id, merged["findings"], merged["follow_up"],
        merged["follow_up_done_on"], actor)
    return AuditRead.model_validate(dict(row))


async def get(*, conn: asyncpg.Connection, tenant_id: str, audit_id: uuid.UUID) -> AuditRead:
    row = await conn.fetchrow("SELECT * FROM client_audit WHERE id = $1 AND tenant_id = $2",
                              audit_id, tenant_id)
    if row is None:
        raise ApiError(404, "not_found", tr("This client has no audit with this id."))
    return AuditRead.model_validate(dict(row))


ORDERING = Ordering(
    {"audited_on": ("audited_on", "date"), "recorded_at": ("recorded_at", "timestamptz")},
    tiebreak=("id", "uuid"), default="-audited_on",
)


async def list_for(
    *, conn: asyncpg.Connection, tenant_id: str, page: PageParams, sort: SortOrder
) -> Page[AuditRead]:
    """Newest audit first, unless another sort is asked for."""
    rows = await sort.fetch_page(
        conn, page, "SELECT * FROM client_audit WHERE tenant_id = $1", tenant_id)
    items = [AuditRead.model_validate(dict(r)) for r in rows]
    return page_of(items, page, sort.cursor_key)
