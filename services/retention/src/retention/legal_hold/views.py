"""Legal holds (O17)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from privacy_kit.app import DbConn
from privacy_kit.auth import Staff
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging
from privacy_kit.sorting import SortOrder
from retention.legal_hold import service
from retention.legal_hold.models import LegalHoldCreate, LegalHoldRead

router = APIRouter(prefix="/v1/legal-holds", tags=["legal holds"])


@router.post("", status_code=201, summary="Place a legal hold")
async def place_hold(body: LegalHoldCreate, staff: Staff, conn: DbConn) -> LegalHoldRead:
    return await service.place(conn=conn, hold=body, actor=staff.sub)


@router.get("", summary="Active and released legal holds")
async def list_holds(
    staff: Staff, conn: DbConn, page: Paging,
    sort: Annotated[SortOrder, Depends(service.ORDERING)],
    active: Annotated[bool | None, Query(description="Only active (true) or released "
                                         "(false) holds")] = None,
) -> Page[LegalHoldRead]:
    return await service.list_holds(conn=conn, page=page, sort=sort, active=active)


@router.post("/{hold_id}/release", summary="Release a legal hold")
async def release_hold(hold_id: uuid.UUID, staff: Staff, conn: DbConn) -> LegalHoldRead:
    hold = await service.release(conn=conn, hold_id=hold_id, actor=staff.sub)
    if hold is None:
        raise ApiError(404, "not_found", "There is no active legal hold with this id.")
    return hold
