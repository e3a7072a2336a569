"""Legal holds (O17): data under a legal request, investigation or claim is kept until released."""

from __future__ import annotations

import uuid

import asyncpg

from retention.legal_hold.models import LegalHoldCreate, LegalHoldRead


async def place(*, conn: asyncpg.Connection, hold: LegalHoldCreate, actor: str) -> LegalHoldRead:
    row = await conn.fetchrow(
        """INSERT INTO legal_hold (id, subject_id, tenant_id, reason, placed_by)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        uuid.uuid4(), hold.subject_id, hold.tenant_id, hold.reason, actor,
    )
    return LegalHoldRead.model_validate(dict(row))


async def list_all(*, conn: asyncpg.Connection) -> list[LegalHoldRead]:
    rows = await conn.fetch("SELECT * FROM legal_hold ORDER BY placed_at DESC")
    return [LegalHoldRead.model_validate(dict(r)) for r in rows]


async def release(*, conn: asyncpg.Connection, hold_id: uuid.UUID, actor: str) -> LegalHoldRead | None:
    row = await conn.fetchrow(
        """UPDATE legal_hold SET released_at = now(), released_by = $2
           WHERE id = $1 AND released_at IS NULL RETURNING *""",
        hold_id, actor,
    )
    return LegalHoldRead.model_validate(dict(row)) if row else None
