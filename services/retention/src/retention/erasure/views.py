from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from privacy_kit.app import DbConn
from privacy_kit.auth import SERVICE_ROLE, STAFF, Principal, Staff, require_roles
from privacy_kit.errors import ApiError
from retention.erasure import service
from retention.erasure.beheerder import check_beheerder_erasure
from retention.erasure.models import ErasureJobCreate, ErasureJobRead
from retention.settings import SettingsDep

router = APIRouter(prefix="/v1/erasure-jobs", tags=["erasure"])

# Subject-rights starts the job of an approved erasure request with its service token; a
# Beheerder may erase a participant of their own tenant (checked against training-records).
JobRequester = Annotated[Principal, Depends(require_roles(*STAFF, SERVICE_ROLE, "beheerder"))]
StaffOrService = Annotated[Principal, Depends(require_roles(*STAFF, SERVICE_ROLE))]


@router.post("", status_code=202, response_model=ErasureJobRead,
             summary="Erase a subject, a tenant or a category in every store (O25)")
async def create_erasure_job(body: ErasureJobCreate, principal: JobRequester, conn: DbConn,
                             settings: SettingsDep) -> dict:
    if not principal.has(*STAFF, SERVICE_ROLE):
        await check_beheerder_erasure(principal, body, settings)
    try:
        async with conn.transaction():
            job_id = await service.create_job(
                conn=conn, request=body, requested_by=principal.sub, trigger="api",
                secret=settings.certificate_secret,
                deadline=timedelta(seconds=settings.erasure_deadline_s),
                source=settings.service_name,
            )
    except service.NoStoresKnown as exc:
        raise ApiError(503, "no_stores_known",
                       "No store has announced what it holds yet; try again in a few seconds.",
                       headers={"Retry-After": "5"}) from exc
    except service.UnderLegalHold as exc:
        raise ApiError(409, "legal_hold",
                       "This data is under a legal hold and is kept until the hold is released.") from exc
    job = await service.get_job(conn=conn, job_id=job_id)
    assert job is not None
    return job


@router.get("", response_model=list[ErasureJobRead], summary="Erasure jobs, newest first")
async def list_erasure_jobs(
    principal: Staff, conn: DbConn,
    status: Literal["pending", "completed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict]:
    return await service.list_jobs(conn=conn, status=status, limit=limit)


@router.get("/{job_id}", response_model=ErasureJobRead,
            summary="One erasure job with each store's answer and, once completed, its certificate")
async def get_erasure_job(job_id: uuid.UUID, principal: StaffOrService, conn: DbConn) -> dict:
    job = await service.get_job(conn=conn, job_id=job_id)
    if job is None:
        raise ApiError(404, "not_found", "There is no erasure job with this id.")
    return job
