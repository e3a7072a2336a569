"""Tenants: the client organisations, each the controller of its participants' data (O1)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from privacy_kit.errors import ApiError
from privacy_kit.guards import check, record_findings
from privacy_kit.paging import PageParams
from privacy_kit.preconditions import check_if_match, entity_tag
from privacy_kit.sorting import Ordering, SortOrder
from training_records.access import not_found
from training_records.tenants.models import (
    AgreementCreate,
    AgreementRead,
    TenantCreate,
    TenantRead,
    TenantUpdate,
)

_COLUMNS = "id, name, contract_state, created_at, updated_at, beheerder_view"
# O5: whether the tenant's latest agreement record puts one in force.
_AGREED = """EXISTS (SELECT 1 FROM (SELECT action FROM special_category_agreement a
                 WHERE a.tenant_id = tenant.id ORDER BY recorded_at DESC, id DESC LIMIT 1) last
             WHERE last.action = 'recorded') AS special_data_agreement"""
_READ = f"{_COLUMNS}, {_AGREED}"


async def create(*, conn: asyncpg.Connection, body: TenantCreate) -> TenantRead:
    # O5: a new tenant has no agreement yet; a name (a sole trader's is personal data) may
    # carry neither a BSN nor special-category data.
    check({"name": body.name}, allowed=False)
    row = await conn.fetchrow(
        f"""INSERT INTO tenant (id, name, contract_state, beheerder_view)
            VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}""",
        uuid.uuid4(), body.name, body.contract_state, body.beheerder_view,
    )
    return TenantRead(**dict(row))


async def get(*, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> TenantRead | None:
    row = await conn.fetchrow(f"SELECT {_READ} FROM tenant WHERE id = $1", tenant_id)
    return TenantRead(**dict(row)) if row else None


ORDERING = Ordering(
    {"created_at": ("created_at", "timestamptz"), "name": ("name", "text")},
    tiebreak=("id", "uuid"), default="created_at",
)


async def list_page(
    *, conn: asyncpg.Connection, page: PageParams, sort: SortOrder,
    contract_state: str | None = None,
) -> list[TenantRead]:
    """Up to `page.limit + 1` tenants after the cursor (the extra one tells a next page)."""
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT {_READ} FROM tenant WHERE ($1::text IS NULL OR contract_state = $1)
            AND {where} ORDER BY {order_by} LIMIT {page.limit + 1}""",
        contract_state, *args,
    )
    return [TenantRead(**dict(r)) for r in rows]


def etag(tenant: TenantRead) -> str:
    return entity_tag(tenant.id, tenant.updated_at)


async def update(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, body: TenantUpdate,
    if_match: str | None = None,
) -> TenantRead | None:
    """The caller's transaction holds the row from the If-Match check to the update."""
    row = await conn.fetchrow(f"SELECT {_READ} FROM tenant WHERE id = $1 FOR UPDATE",
                              tenant_id)
    if row is None:
        return None
    check_if_match(if_match, etag(TenantRead(**dict(row))))
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in changes:
        agreement = await agreement_in_force(conn=conn, tenant_id=tenant_id)
        findings = check({"name": changes["name"]}, allowed=agreement is not None)
        await record_findings(conn, findings, record_kind="tenant", record_id=tenant_id,
                              tenant_id=tenant_id, agreement_id=agreement)
    if not changes:
        return TenantRead(**dict(row))
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
    row = await conn.fetchrow(
        f"UPDATE tenant SET {sets}, updated_at = now() WHERE id = $1 RETURNING {_READ}",
        tenant_id, *changes.values(),
    )
    return TenantRead(**dict(row)) if row else None


async def allows_special_data(*, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> bool | None:
    """None when the tenant does not exist."""
    value = await conn.fetchval(
        f"SELECT {_AGREED} FROM tenant WHERE id = $1", tenant_id
    )
    return None if value is None else bool(value)


async def agreement_in_force(*, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> uuid.UUID | None:
    """The id of the agreement record in force (O5), or None."""
    row = await conn.fetchrow(
        """SELECT id, action FROM special_category_agreement WHERE tenant_id = $1
           ORDER BY recorded_at DESC, id DESC LIMIT 1""", tenant_id)
    return row["id"] if row and row["action"] == "recorded" else None


async def record_agreement(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, body: AgreementCreate, actor: str
) -> AgreementRead:
    """Append to the tenant's agreement history; the tenant row is held so that two records
    entered at once are ordered."""
    current = await conn.fetchrow("SELECT id FROM tenant WHERE id = $1 FOR UPDATE", tenant_id)
    if current is None:
        raise not_found("tenant")
    in_force = await agreement_in_force(conn=conn, tenant_id=tenant_id)
    if body.action == "ended" and in_force is None:
        raise ApiError(409, "no_agreement_in_force",
                       "This organisation has no special-category agreement in force to end.")
    row = await conn.fetchrow(
        """INSERT INTO special_category_agreement
               (id, tenant_id, action, effective_on, document_reference, recorded_by)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        uuid.uuid4(), tenant_id, body.action, body.effective_on, body.document_reference, actor)
    await conn.execute("UPDATE tenant SET updated_at = now() WHERE id = $1", tenant_id)
    return AgreementRead(**dict(row))


AGREEMENT_ORDERING = Ordering(
    {"recorded_at": ("recorded_at", "timestamptz")}, tiebreak=("id", "uuid"),
    default="recorded_at",
)


async def agreement_history(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, page: PageParams, sort: SortOrder,
) -> list[AgreementRead]:
    rows = await sort.fetch_page(
        conn, page, "SELECT * FROM special_category_agreement WHERE tenant_id = $1", tenant_id)
    return [AgreementRead(**dict(r)) for r in rows]


async def mark_terminated(*, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    await conn.execute(
        """UPDATE tenant SET contract_state = 'terminated', updated_at = now()
           WHERE id = $1 AND contract_state <> 'terminated'""", tenant_id)


async def ensure_contract_active(*, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    """O18: once a tenant's contract has ended, no one adds people or training data to it.
    Reading, rectifying and erasing stay possible."""
    state = await conn.fetchval("SELECT contract_state FROM tenant WHERE id = $1", tenant_id)
    if state == "terminated":
        raise ApiError(409, "contract_terminated",
                       "This organisation's contract has ended: no participants or training "
                       "data can be added any more. Its data can still be read until it is "
                       "erased.")
