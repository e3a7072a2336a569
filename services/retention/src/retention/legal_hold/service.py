"""Legal holds (O17): data under a legal request, investigation or claim is kept until released.

A hold keeps one subject (in any tenant, or in one), a whole tenant, or one category of a
tenant. Erasure jobs and sweeps carry the active holds that touch their scope to the stores,
which skip the held part and say how much they kept.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from privacy_kit.outbox import emit
from privacy_kit.paging import Page, PageParams, page_of
from privacy_kit.protocol import ErasureScope, LegalHoldPlaced, LegalHoldReleased
from privacy_kit.sorting import Ordering, SortOrder
from retention.legal_hold.models import LAWFUL_GROUNDS, LegalHoldCreate, LegalHoldRead


def to_read(row: asyncpg.Record | dict[str, Any], **extra: Any) -> LegalHoldRead:
    data = dict(row)
    return LegalHoldRead.model_validate(
        {**data, "lawful_ground": LAWFUL_GROUNDS[data["ground"]], **extra})


async def place(*, conn: asyncpg.Connection, hold: LegalHoldCreate, actor: str,
                source: str = "retention") -> LegalHoldRead:
    row = await conn.fetchrow(
        """INSERT INTO legal_hold (id, subject_id, tenant_id, category, ground, reference,
                                   reason, placed_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *""",
        uuid.uuid4(), hold.subject_id, hold.tenant_id, hold.category, hold.ground,
        hold.reference, hold.reason, actor,
    )
    # Every store keeps a copy and refuses to rectify held data (O17); ids and ground only.
    await emit(conn, LegalHoldPlaced(hold_id=row["id"], ground=row["ground"],
                                     category=row["category"]),
               source=source, subject_id=row["subject_id"], tenant_id=row["tenant_id"],
               key=row["subject_id"] or row["tenant_id"])
    return to_read(row)


ORDERING = Ordering({"placed_at": ("placed_at", "timestamptz")}, tiebreak=("id", "uuid"),
                    default="-placed_at")


async def list_holds(
    *, conn: asyncpg.Connection, page: PageParams, sort: SortOrder, active: bool | None
) -> Page[LegalHoldRead]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT * FROM legal_hold WHERE ($1::boolean IS NULL OR (released_at IS NULL) = $1)
            AND {where} ORDER BY {order_by} LIMIT {page.limit + 1}""", active, *args)
    return page_of([to_read(r) for r in rows], page, sort.cursor_key)


async def release(*, conn: asyncpg.Connection, hold_id: uuid.UUID, actor: str,
                  source: str = "retention") -> LegalHoldRead | None:
    row = await conn.fetchrow(
        """UPDATE legal_hold SET released_at = now(), released_by = $2
           WHERE id = $1 AND released_at IS NULL RETURNING *""",
        hold_id, actor,
    )
    if row is None:
        return None
    await emit(conn, LegalHoldReleased(hold_id=row["id"]), source=source,
               subject_id=row["subject_id"], tenant_id=row["tenant_id"],
               key=row["subject_id"] or row["tenant_id"])
    return to_read(row)


async def subject_on_hold(*, conn: asyncpg.Connection, subject_id: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT 1 FROM legal_hold WHERE released_at IS NULL AND subject_id = $1", subject_id))


async def tenant_on_hold(*, conn: asyncpg.Connection, tenant_id: str) -> bool:
    """The whole tenant is held (not only a subject or a category of it)."""
    return bool(await conn.fetchval(
        """SELECT 1 FROM legal_hold WHERE released_at IS NULL AND tenant_id = $1
           AND subject_id IS NULL AND category IS NULL""", tenant_id))


async def tenant_hold(*, conn: asyncpg.Connection, tenant_id: str) -> uuid.UUID | None:
    """The oldest active hold on the whole tenant, if any (O17: it holds its people's jobs)."""
    hold_id: uuid.UUID | None = await conn.fetchval(
        """SELECT id FROM legal_hold WHERE released_at IS NULL AND tenant_id = $1
           AND subject_id IS NULL AND category IS NULL ORDER BY placed_at, id LIMIT 1""",
        tenant_id)
    return hold_id


async def subject_hold(*, conn: asyncpg.Connection, subject_id: str) -> uuid.UUID | None:
    hold_id: uuid.UUID | None = await conn.fetchval(
        """SELECT id FROM legal_hold WHERE released_at IS NULL AND subject_id = $1
           ORDER BY placed_at, id LIMIT 1""", subject_id)
    return hold_id


async def apply_holds(
    *, conn: asyncpg.Connection, scope: ErasureScope
) -> tuple[ErasureScope, list[uuid.UUID]]:
    """The scope with the active holds that touch it, and the ids of those holds.

    Tenant scope: held subjects of the tenant (or of any tenant) and held categories of it.
    Category scope: held subjects, and the tenants whose whole data or this category is held.
    Subject scope: unchanged; a held subject is refused before a job is made.
    """
    if scope.kind == "subject":
        return scope, []
    holds = await conn.fetch(
        """SELECT id, subject_id, tenant_id, category FROM legal_hold
           WHERE released_at IS NULL ORDER BY placed_at, id""")
    applied: list[uuid.UUID] = []
    subjects: set[str] = set()
    tenants: set[str] = set()
    categories: set[str] = set()
    for h in holds:
        if h["subject_id"] is not None:
            if scope.tenant_id is None or h["tenant_id"] in (None, scope.tenant_id):
                subjects.add(h["subject_id"])
                applied.append(h["id"])
        elif scope.kind == "tenant":
            if h["tenant_id"] == scope.tenant_id and h["category"] is not None:
                categories.add(h["category"])
                applied.append(h["id"])
        elif h["category"] in (None, scope.category) and (
                scope.tenant_id is None or h["tenant_id"] == scope.tenant_id):
            tenants.add(h["tenant_id"])
            applied.append(h["id"])
    held = scope.model_copy(update={"held_subject_ids": sorted(subjects),
                                    "held_tenant_ids": sorted(tenants),
                                    "held_categories": sorted(categories)})
    return held, applied


async def grounds_of(*, conn: asyncpg.Connection, job_id: uuid.UUID) -> list[dict[str, Any]]:
    """The holds that kept part of a job, as a certificate may show them: ground and reference,
    never the free-text reason, which may name a person."""
    rows = await conn.fetch(
        """SELECT h.id, h.ground, h.reference, h.category FROM erasure_job_hold j
           JOIN legal_hold h ON h.id = j.hold_id WHERE j.job_id = $1 ORDER BY h.placed_at, h.id""",
        job_id)
    return [{"hold_id": str(r["id"]), "ground": r["ground"],
             "lawful_ground": LAWFUL_GROUNDS[r["ground"]], "reference": r["reference"],
             "category": r["category"]} for r in rows]
