"""Legal holds (O17): data under a legal request, investigation or claim is kept until released."""

from __future__ import annotations

import uuid

import asyncpg

from privacy_kit.paging import Page, PageParams, page_of
from privacy_kit.sorting import Ordering, SortOrder
from retention.legal_hold.models import LegalHoldCreate, LegalHoldRead


async def place(*, conn: asyncpg.Connection, hold: LegalHoldCreate, actor: str) -> LegalHoldRead:
    row = await conn.fetchrow(
        """INSERT INTO legal_hold (id, subject_id, tenant_id, reason, placed_by)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        uuid.uuid4(), hold.subject_id, hold.tenant_id, hold.reason, actor,
    )
    return LegalHoldRead.model_validate(dict(row))


ORDERING = Ordering({"placed_at": ("placed_at", "timestamptz")}, tiebreak=("id", "uuid"),
                    default="-placed_at")


async def list_holds(
    *, conn: asyncpg.Connection, page: PageParams, sort: SortOrder, active: bool | None
) -> Page[LegalHoldRead]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT * FROM legal_hold WHERE ($1::boolean IS NULL OR (released_at IS NULL) = $1)
            AND {where} ORDER BY {order_by} LIMIT {page.limit + 1}""", active, *args)
    return page_of([LegalHoldRead.model_validate(dict(r)) for r in rows], page, sort.cursor_key)


async def release(*, conn: asyncpg.Connection, hold_id: uuid.UUID, actor: str) -> LegalHoldRead | None:
    row = await conn.fetchrow(
        """UPDATE legal_hold SET released_at = now(), released_by = $2
           WHERE id = $1 AND released_at IS NULL RETURNING *""",
        hold_id, actor,
    )
    return LegalHoldRead.model_validate(dict(row)) if row else None
