"""Tenants: the client organisations, each the controller of its participants' data (O1)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from privacy_kit.errors import ApiError
from training_records.tenants.models import TenantCreate, TenantRead, TenantUpdate

_COLUMNS = "id, name, contract_state, special_data_agreement, created_at, updated_at"


async def create(*, conn: asyncpg.Connection, body: TenantCreate) -> TenantRead:
    row = await conn.fetchrow(
        f"""INSERT INTO tenant (id, name, contract_state, special_data_agreement)
            VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}""",
        uuid.uuid4(), body.name, body.contract_state, body.special_data_agreement,
    )
    return TenantRead(**dict(row))


async def get(*, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> TenantRead | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM tenant WHERE id = $1", tenant_id)
    return TenantRead(**dict(row)) if row else None


async def list_all(*, conn: asyncpg.Connection) -> list[TenantRead]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM tenant ORDER BY created_at, id")
    return [TenantRead(**dict(r)) for r in rows]


async def update(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, body: TenantUpdate
) -> TenantRead | None:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        return await get(conn=conn, tenant_id=tenant_id)
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
