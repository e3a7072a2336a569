"""Legal holds (O17)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from privacy_kit import guards
from privacy_kit.access_log import AccessLogged, ReadLog
from privacy_kit.app import DbConn
from privacy_kit.auth import Staff
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging
from privacy_kit.sorting import SortOrder
from retention.erasure import service as erasure
from retention.i18n import tr
from retention.legal_hold import service
from retention.legal_hold.models import LegalHoldCreate, LegalHoldRead
from retention.settings import SettingsDep

router = APIRouter(prefix="/v1/legal-holds", tags=["legal holds"])


@router.post("", status_code=201, summary="Place a legal hold on a subject, a tenant, or one "
                                          "category of a tenant")
async def place_hold(
    body: LegalHoldCreate, staff: Staff, conn: DbConn, settings: SettingsDep
) -> LegalHoldRead:
    # O5: the reason and reference are free text: no BSN or special-category data in them
    # unless the tenant has the written agreement.
    screened = await guards.check_for_tenant(
        settings, {"reason": body.reason, "reference": body.reference}, tenant_id=body.tenant_id)
    if body.category is not None:
        known = await erasure.known_categories(conn=conn)
        if body.category not in known:
            raise ApiError(422, "unknown_category",
                           tr("body.category: no store declares the category '{category}'; the "
                              "known categories are: {known}.", category=body.category,
                              known=", ".join(known) or tr("none yet")))
    async with conn.transaction():
        hold = await service.place(conn=conn, hold=body, actor=staff.sub,
                                   source=settings.service_name)
        await guards.record_findings(
            conn, screened.findings, record_kind="legal_hold", record_id=hold.id,
            tenant_id=body.tenant_id, subject_id=body.subject_id,
            agreement_id=screened.agreement_id)
        return hold


@router.get("", summary="Active and released legal holds")
async def list_holds(
    staff: Staff, conn: DbConn, page: Paging,
    sort: Annotated[SortOrder, Depends(service.ORDERING)],
    log: Annotated[ReadLog, AccessLogged("legal holds")],
    active: Annotated[bool | None, Query(description="Only active (true) or released "
                                         "(false) holds")] = None,
) -> Page[LegalHoldRead]:
    holds = await service.list_holds(conn=conn, page=page, sort=sort, active=active)
    # O3: a hold names a person (or a client) and why; each one shown is a read of them.
    on_people = [(h.subject_id, h.tenant_id) for h in holds.items if h.subject_id]
    if on_people:
        await log.record_rows(conn, on_people, what="legal hold")
    for tenant in sorted({h.tenant_id for h in holds.items if h.tenant_id and not h.subject_id}):
        await log.record(conn, tenant_id=tenant, what="legal hold on the organisation")
    if not holds.items:
        await log.record(conn, what="legal holds (list)")
    return holds


@router.post("/{hold_id}/release",
             summary="Release a legal hold; what it kept of finished jobs is erased by follow-up "
                     "jobs linked to them")
async def release_hold(hold_id: uuid.UUID, staff: Staff, conn: DbConn,
                       settings: SettingsDep) -> LegalHoldRead:
    async with conn.transaction():
        hold = await service.release(conn=conn, hold_id=hold_id, actor=staff.sub,
                                     source=settings.service_name)
        if hold is None:
            raise ApiError(404, "not_found", tr("There is no active legal hold with this id."))
        # O17: subject jobs this hold kept waiting start now.
        await erasure.resume_held(conn=conn, hold_id=hold_id, source=settings.service_name,
                                  deadline=timedelta(seconds=settings.erasure_deadline_s))
        follow_ups = []
        for job_id in await erasure.jobs_kept_by(conn=conn, hold_id=hold_id):
            follow_up = await erasure.follow_up(
                conn=conn, job_id=job_id, secret=settings.certificate_secret,
                deadline=timedelta(seconds=settings.erasure_deadline_s),
                source=settings.service_name, requested_by=staff.sub)
            if follow_up is not None:
                follow_ups.append(follow_up)
    return hold.model_copy(update={"follow_up_jobs": follow_ups})
