from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query, Request

from privacy_kit import guards
from privacy_kit.app import DbConn
from privacy_kit.auth import SERVICE_ROLE, STAFF, Principal, Staff, require_roles
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging, page_of
from retention.erasure import service
from retention.erasure.beheerder import check_beheerder_erasure
from retention.erasure.models import ErasureJobCreate, ErasureJobRead, JobStatus
from retention.erasure.tenancy import TenantUnresolved, known_tenant, subject_tenant
from retention.i18n import tr
from retention.settings import SettingsDep

router = APIRouter(prefix="/v1/erasure-jobs", tags=["erasure"])

# Subject-rights starts the job of an approved erasure request with its service token; a
# Beheerder may erase a participant of their own tenant (checked against training-records).
JobRequester = Annotated[Principal, Depends(require_roles(*STAFF, SERVICE_ROLE, "beheerder"))]
StaffOrService = Annotated[Principal, Depends(require_roles(*STAFF, SERVICE_ROLE))]


@router.post("", status_code=202, response_model=ErasureJobRead,
             summary="Erase a subject, a tenant or a category in every store (O25)",
             description="A subject job for a participant whose organisation is under a legal "
             "hold is made `held` (named in `held_by`) and starts when the hold is released "
             "(O17); a hold on the subject itself refuses the job (409 `legal_hold`).")
async def create_erasure_job(body: ErasureJobCreate, principal: JobRequester, request: Request,
                             settings: SettingsDep) -> dict:
    if not principal.has(*STAFF, SERVICE_ROLE):
        await check_beheerder_erasure(principal, body, settings)
    # O5: the free-text reason carries no BSN or special-category data without the agreement.
    tenant = body.tenant_id or principal.tenant
    screened = await guards.check_for_tenant(
        settings, {"reason": body.reason, "reference": body.reference}, tenant_id=tenant)
    pool: asyncpg.Pool = request.app.state.pool
    tenant_of: service.TenantOf = partial(subject_tenant, settings)
    try:
        if body.scope == "subject" and body.subject_id is not None:
            # O17: training-records is asked whose participant this is before a pooled
            # connection is taken for the job, so that none of retention's ten waits on another
            # service meanwhile. The holds are still read in the job's own transaction.
            if await _asks_tenant(pool, settings.expected_stores):
                tenant_of = known_tenant(await subject_tenant(settings, body.subject_id))
        async with pool.acquire() as conn:
            async with conn.transaction():
                job_id = await service.create_job(
                    conn=conn, request=body, requested_by=principal.sub, trigger="api",
                    secret=settings.certificate_secret,
                    deadline=timedelta(seconds=settings.erasure_deadline_s),
                    source=settings.service_name, expected_stores=settings.expected_stores,
                    tenant_of=tenant_of,
                )
                await guards.record_findings(
                    conn, screened.findings, record_kind="erasure_job", record_id=job_id,
                    tenant_id=tenant, subject_id=body.subject_id,
                    agreement_id=screened.agreement_id)
            job = await service.get_job(conn=conn, job_id=job_id)
    except TenantUnresolved as exc:
        raise ApiError(503, "service_unavailable",
                       tr("training-records cannot say right now whether this person's "
                          "organisation is under a legal hold; try again shortly."),
                       headers={"Retry-After": "5"}) from exc
    except service.UnknownCategory as exc:
        raise ApiError(422, "unknown_category",
                       tr("body.category: no store declares the category '{category}'; the "
                          "known categories are: {known}.", category=exc.category,
                          known=", ".join(exc.known) or tr("none yet"))) from exc
    except service.NoStoresKnown as exc:
        raise ApiError(503, "no_stores_known",
                       tr("No store has announced what it holds yet; try again in a few seconds."),
                       headers={"Retry-After": "5"}) from exc
    except service.UnderLegalHold as exc:
        raise ApiError(409, "legal_hold",
                       tr("This data is under a legal hold and is kept until the hold is released.")) from exc
    assert job is not None
    return job


# Whether subject jobs ask training-records, as read at most a few seconds ago, per pool. Only
# a hint for asking early: create_job decides again on the inventory it reads itself, and asks
# training-records then (inside its transaction) where the hint said no. Read through the pool
# on every job, a second wait for a connection made the slowest of 100 requests at once
# outlive the gateway's timeout.
_HINT_S = 5.0
_hints: dict[int, tuple[float, bool]] = {}


async def _asks_tenant(pool: asyncpg.Pool, expected: list[str]) -> bool:
    now = time.monotonic()
    hint = _hints.get(id(pool))
    if hint is None or hint[0] < now:
        async with pool.acquire() as conn:
            hint = (now + _HINT_S, await service.asks_tenant(conn=conn, expected=expected))
        _hints[id(pool)] = hint
    return hint[1]


@router.get("", summary="Erasure jobs, newest first, filtered and paged")
async def list_erasure_jobs(
    principal: Staff, conn: DbConn, paging: Paging,
    status: Annotated[JobStatus | None, Query(description="e.g. stuck")] = None,
    scope: Literal["subject", "tenant", "category"] | None = None,
    reason: Annotated[str | None, Query(min_length=1, max_length=200,
                                        description="Part of the reason code, reference, reason "
                                                    "(until completed) or trigger")] = None,
    created_after: Annotated[datetime | None, Query(description="Created at or after")] = None,
    created_before: Annotated[datetime | None, Query(description="Created before")] = None,
) -> Page[ErasureJobRead]:
    after = None
    if paging.cursor:
        try:
            after = (datetime.fromisoformat(str(paging.cursor[0])), uuid.UUID(str(paging.cursor[1])))
        except (ValueError, IndexError) as exc:
            raise ApiError(422, "invalid_cursor", tr("The cursor is not one this list gave out.")) from exc
    rows = await service.list_jobs(conn=conn, status=status, scope=scope, reason=reason,
                                   created_after=created_after, created_before=created_before,
                                   after=after, limit=paging.limit + 1)
    jobs = [ErasureJobRead.model_validate(r) for r in rows]
    return page_of(jobs, paging, key=lambda j: [j.created_at.isoformat(), str(j.id)])


@router.get("/{job_id}", response_model=ErasureJobRead,
            summary="One erasure job with each store's answer and, once completed, its certificate")
async def get_erasure_job(job_id: uuid.UUID, principal: StaffOrService, conn: DbConn) -> dict:
    job = await service.get_job(conn=conn, job_id=job_id)
    if job is None:
        raise ApiError(404, "not_found", tr("There is no erasure job with this id."))
    return job
