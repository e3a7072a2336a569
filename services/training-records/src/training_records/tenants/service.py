"""Tenants: the client organisations, each the controller of its participants' data (O1)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from privacy_kit.errors import ApiError
from privacy_kit.paging import PageParams
from privacy_kit.preconditions import check_if_match, entity_tag
from privacy_kit.sorting import Ordering, SortOrder
from training_records.tenants.models import TenantCreate, TenantRead, TenantUpdate

_COLUMNS = ("id, name, contract_state, special_data_agreement, created_at, updated_at, "
            "beheerder_view")


async def create(*, conn: asyncpg.Connection, body: TenantCreate) -> TenantRead:
    row = await conn.fetchrow(
        f"""INSERT INTO tenant (id, name, contract_state, special_data_agreement, beheerder_view)
            VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}""",
        uuid.uuid4(), body.name, body.contract_state, body.special_data_agreement,
        body.beheerder_view,
    )
    return TenantRead(**dict(row))


async def get(*, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> TenantRead | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM tenant WHERE id = $1", tenant_id)
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
        f"""SELECT {_COLUMNS} FROM tenant WHERE ($1::text IS NULL OR contract_state = $1)
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
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM tenant WHERE id = $1 FOR UPDATE",
                              tenant_id)
    if row is None:
        return None
    check_if_match(if_match, etag(TenantRead(**dict(row))))
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        return TenantRead(**dict(row))
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
    row = await conn.fetchrow(
        f"UPDATE tenant SET {sets}, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
        tenant_id, *changes.values(),
    )
    return TenantRead(**dict(row)) if row else None


async def allows_special_data(*, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> bool | None:
    """None when the tenant does not exist."""
    value = await conn.fetchval(
        "SELECT special_data_agreement FROM tenant WHERE id = $1", tenant_id
    )
    return None if value is None else bool(value)


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
