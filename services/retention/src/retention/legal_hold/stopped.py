"""O6 and O17: erasures asked for by a store that a legal hold stopped, shown to the DPO.

A store asks for an erasure with `subject.erasure_requested` (training-records does for an
under-16 found without parental consent). When a legal hold on the person stops it, the request
is kept here with the holds that stopped it, and listed at `GET /v1/legal-holds/stopped-erasures`
for the DPO, who decides once the hold is released (start the erasure job then). Only ids, a
reason code and times: never free text.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from privacy_kit.app import DbConn
from privacy_kit.auth import Staff
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import Ordering, SortOrder

router = APIRouter(prefix="/v1/legal-holds", tags=["legal holds"])


class StoppedErasure(BaseModel):
    id: uuid.UUID
    subject_id: str
    tenant_id: str | None
    reason_code: str = Field(description="Why the store asked, e.g. "
                             "under_16_without_parental_consent")
    trigger: str = Field(description="The store that asked")
    requested_by: str
    hold_ids: list[uuid.UUID] = Field(description="The holds that stopped it")
    holds_active: bool = Field(description="Whether any of those holds is still in force; once "
                               "none is, the DPO starts the erasure job")
    asked_at: datetime


async def record(
    *, conn: asyncpg.Connection, event_id: uuid.UUID, subject_id: str, tenant_id: str | None,
    reason_code: str, trigger: str, requested_by: str,
) -> None:
    await conn.execute(
        """INSERT INTO stopped_erasure (id, event_id, subject_id, tenant_id, reason_code,
                                        trigger, requested_by, hold_ids)
           SELECT $1, $2, $3, $4, $5, $6, $7, coalesce(array_agg(id ORDER BY placed_at), '{}')
           FROM legal_hold WHERE released_at IS NULL AND subject_id = $3
           ON CONFLICT (event_id) DO NOTHING""",
        uuid.uuid4(), event_id, subject_id, tenant_id, reason_code, trigger, requested_by)


ORDERING = Ordering({"asked_at": ("asked_at", "timestamptz")}, tiebreak=("id", "uuid"),
                    default="-asked_at")


@router.get("/stopped-erasures", response_model=Page[StoppedErasure],
            summary="Erasures a store asked for that a legal hold stopped (dpo, operator)")
async def list_stopped(
    staff: Staff, conn: DbConn, page: Paging,
    sort: Annotated[SortOrder, Depends(ORDERING)],
) -> Page[StoppedErasure]:
    where, order_by, args = sort.keyset(page, first_param=1)
    rows = await conn.fetch(
        f"""SELECT s.*, EXISTS (SELECT 1 FROM legal_hold h WHERE h.id = ANY(s.hold_ids)
                                AND h.released_at IS NULL) AS holds_active
            FROM stopped_erasure s WHERE {where} ORDER BY {order_by} LIMIT {page.limit + 1}""",
        *args)
    items = [StoppedErasure.model_validate({k: v for k, v in dict(r).items() if k != "event_id"})
             for r in rows]
    return page_of(items, page, sort.cursor_key)
