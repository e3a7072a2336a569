"""Every store's copy of the active legal holds (O17), and the rule that held data is frozen.

Retention owns the holds and emits `legal_hold.placed` / `legal_hold.released` on
privacy.erasure; the kit keeps them in `legal_hold_copy` for every service with a provider
(see `privacy_kit.provider.privacy_subscriptions`). A store then refuses to rectify held data
with `refuse_if_held(...)` (409 `legal_hold`) without a call to retention: a hold takes effect at
a store as soon as its consumer has read the event (normally well under a second). The copy
holds ids and the ground code only, never the hold's free-text reason or reference.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import asyncpg

from privacy_kit.errors import ApiError
from privacy_kit.i18n import tr

__all__ = ["active_hold", "drop_hold", "keep_hold", "refuse_if_held"]


async def keep_hold(
    conn: asyncpg.Connection, *, hold_id: uuid.UUID, subject_id: str | None,
    tenant_id: str | None, category: str | None, ground: str, placed_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO legal_hold_copy (hold_id, subject_id, tenant_id, category, ground,
                                        placed_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hold_id) DO NOTHING""",
        hold_id, subject_id, tenant_id, category, ground, placed_at)


async def drop_hold(conn: asyncpg.Connection, *, hold_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM legal_hold_copy WHERE hold_id = $1", hold_id)


async def active_hold(
    conn: asyncpg.Connection, *, subject_id: str | None = None, tenant_id: str | None = None,
    categories: Iterable[str] | None = None,
) -> asyncpg.Record | None:
    """The oldest active hold that keeps this subject's data (a hold on the subject, in any
    tenant or in this one) or this whole tenant's; with `categories`, a hold on one of those
    categories of the tenant counts too."""
    return await conn.fetchrow(
        """SELECT hold_id, subject_id, tenant_id, category, ground FROM legal_hold_copy
           WHERE ($1::text IS NOT NULL AND subject_id = $1
                  AND (tenant_id IS NULL OR $2::text IS NULL OR tenant_id = $2))
              OR ($2::text IS NOT NULL AND subject_id IS NULL AND tenant_id = $2
                  AND (category IS NULL OR category = ANY($3::text[])))
           ORDER BY placed_at, hold_id LIMIT 1""",
        subject_id, tenant_id, list(categories or ()))


def held_error(hold: asyncpg.Record | dict[str, object]) -> ApiError:
    """409 naming the hold by id and ground (never its reason, which may name a person)."""
    names = {"hold_id": str(hold["hold_id"]), "ground": hold["ground"]}
    if hold["subject_id"] is not None:
        message = tr("This person's data cannot be changed: it is under legal hold {hold_id} "
                     "(ground: {ground}) until the hold is released; ask the DPO.", **names)
    elif hold["category"]:
        message = tr("This organisation's '{category}' data cannot be changed: it is under "
                     "legal hold {hold_id} (ground: {ground}) until the hold is released; ask "
                     "the DPO.", category=hold["category"], **names)
    else:
        message = tr("This organisation's data cannot be changed: it is under legal hold "
                     "{hold_id} (ground: {ground}) until the hold is released; ask the DPO.",
                     **names)
    return ApiError(409, "legal_hold", message, details=names)


async def refuse_if_held(
    conn: asyncpg.Connection, *, subject_id: str | None = None, tenant_id: str | None = None,
    categories: Iterable[str] | None = None,
) -> None:
    """Raise 409 `legal_hold` when an active hold keeps the subject's or tenant's data."""
    hold = await active_hold(conn, subject_id=subject_id, tenant_id=tenant_id,
                             categories=categories)
    if hold is not None:
        raise held_error(hold)
