"""The sub-processor register (O7): listed for every signed-in user, maintained by operators."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Operator
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging, page_of
from retention.i18n import tr
from retention.settings import SettingsDep
from retention.sub_processor import service
from retention.sub_processor.models import (
    SubProcessorCreate,
    SubProcessorRead,
    SubProcessorUpdate,
)

router = APIRouter(prefix="/v1/sub-processors", tags=["sub-processors"])

_NOT_FOUND = tr("There is no current sub-processor with this id.")
_REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Outside the EEA without a transfer basis, or another "
                                 "invalid input"}}


@router.get("", summary="The sub-processors, newest first (anyone signed in)")
async def list_sub_processors(
    principal: CurrentPrincipal, conn: DbConn, paging: Paging,
    include_removed: Annotated[bool, Query(description="Also those no longer engaged")] = False,
) -> Page[SubProcessorRead]:
    after = None
    if paging.cursor:
        try:
            after = (datetime.fromisoformat(str(paging.cursor[0])), uuid.UUID(str(paging.cursor[1])))
        except (ValueError, IndexError) as exc:
            raise ApiError(422, "invalid_cursor", tr("The cursor is not one this list gave out.")) from exc
    rows = await service.list_all(conn=conn, include_removed=include_removed, after=after,
                                  limit=paging.limit + 1)
    return page_of(rows, paging, key=lambda s: [s.added_at.isoformat(), str(s.id)])


@router.get("/{sub_processor_id}", summary="One sub-processor with every dated change")
async def get_sub_processor(sub_processor_id: uuid.UUID, principal: CurrentPrincipal,
                            conn: DbConn) -> SubProcessorRead:
    try:
        return await service.get(conn=conn, sub_processor_id=sub_processor_id)
    except service.NotFound as exc:
        raise ApiError(404, "not_found", _NOT_FOUND) from exc


@router.post("", status_code=201, responses=_REFUSED,
             summary="Engage a sub-processor (operator); announced to client organisations")
async def add_sub_processor(body: SubProcessorCreate, operator: Operator, conn: DbConn,
                            settings: SettingsDep) -> SubProcessorRead:
    try:
        async with conn.transaction():
            return await service.add(conn=conn, body=body, actor=operator.sub,
                                     source=settings.service_name)
    except service.Refused as exc:
        raise ApiError(422, "transfer_basis_required", exc.message) from exc


@router.patch("/{sub_processor_id}", responses=_REFUSED,
              summary="Change a sub-processor (operator); announced to client organisations")
async def change_sub_processor(sub_processor_id: uuid.UUID, body: SubProcessorUpdate,
                               operator: Operator, conn: DbConn,
                               settings: SettingsDep) -> SubProcessorRead:
    try:
        async with conn.transaction():
            return await service.change(conn=conn, sub_processor_id=sub_processor_id, body=body,
                                        actor=operator.sub, source=settings.service_name)
    except service.NotFound as exc:
        raise ApiError(404, "not_found", _NOT_FOUND) from exc
    except service.Refused as exc:
        raise ApiError(422, "transfer_basis_required", exc.message) from exc


@router.delete("/{sub_processor_id}",
               summary="Stop engaging a sub-processor (operator); kept in the register, dated")
async def remove_sub_processor(sub_processor_id: uuid.UUID, operator: Operator, conn: DbConn,
                               settings: SettingsDep) -> SubProcessorRead:
    try:
        async with conn.transaction():
            return await service.remove(conn=conn, sub_processor_id=sub_processor_id,
                                        actor=operator.sub, source=settings.service_name)
    except service.NotFound as exc:
        raise ApiError(404, "not_found", _NOT_FOUND) from exc
