"""Retention sweeps (O15, O16): dry run, approval, and what the approved sweep removed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from privacy_kit.app import DbConn
from privacy_kit.auth import Staff
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging, page_of
from retention.i18n import tr
from retention.settings import SettingsDep
from retention.sweep import service
from retention.sweep.models import SweepRead, SweepStatus

router = APIRouter(prefix="/v1/retention-sweeps", tags=["retention sweeps"])

_NOT_FOUND = tr("There is no retention sweep with this id.")


@router.post("", status_code=202, summary="Start a sweep: the stores count first (dry run)",
             description="Every store counts, per category, what its rule's term has ended for. "
             "Categories whose rule is marked auto-approve are acted on right after the count; "
             "the rest wait for `POST /v1/retention-sweeps/{id}/approve`.")
async def start_sweep(staff: Staff, conn: DbConn, settings: SettingsDep) -> SweepRead:
    async with conn.transaction():
        sweep_id = await service.start_sweep(conn=conn, requested_by=staff.sub, trigger="api",
                                             source=settings.service_name)
    return await service.get_sweep(conn=conn, sweep_id=sweep_id)


@router.get("", summary="Sweeps, newest first")
async def list_sweeps(
    staff: Staff, conn: DbConn, paging: Paging,
    status: Annotated[SweepStatus | None, Query()] = None,
) -> Page[SweepRead]:
    after = None
    if paging.cursor:
        try:
            after = (datetime.fromisoformat(str(paging.cursor[0])), uuid.UUID(str(paging.cursor[1])))
        except (ValueError, IndexError) as exc:
            raise ApiError(422, "invalid_cursor", tr("The cursor is not one this list gave out.")) from exc
    sweeps = await service.list_sweeps(conn=conn, status=status, after=after,
                                       limit=paging.limit + 1)
    return page_of(sweeps, paging, key=lambda s: [s.created_at.isoformat(), str(s.id)])


@router.get("/{sweep_id}", summary="A sweep: per store and category the dry run's count, what "
                                   "was removed and the difference")
async def get_sweep(sweep_id: uuid.UUID, staff: Staff, conn: DbConn) -> SweepRead:
    try:
        return await service.get_sweep(conn=conn, sweep_id=sweep_id)
    except service.NotFound as exc:
        raise ApiError(404, "not_found", _NOT_FOUND) from exc


@router.post("/{sweep_id}/approve", summary="Approve a dry run: the stores act (operator, DPO)",
             responses={409: {"description": "Still counting, superseded, or already approved"}})
async def approve_sweep(sweep_id: uuid.UUID, staff: Staff, conn: DbConn,
                        settings: SettingsDep) -> SweepRead:
    try:
        async with conn.transaction():
            await service.approve(conn=conn, sweep_id=sweep_id, actor=staff.sub,
                                  secret=settings.certificate_secret,
                                  deadline=timedelta(seconds=settings.erasure_deadline_s),
                                  source=settings.service_name)
    except service.NotFound as exc:
        raise ApiError(404, "not_found", _NOT_FOUND) from exc
    except service.CannotApprove as exc:
        raise ApiError(409, "cannot_approve", exc.message) from exc
    return await service.get_sweep(conn=conn, sweep_id=sweep_id)
