from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from privacy_kit.app import DbConn
from privacy_kit.auth import Staff
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import SortOrder
from retention.erasure import service
from retention.erasure.models import ErasureJobCreate, ErasureJobRead
from retention.settings import SettingsDep

router = APIRouter(prefix="/v1/erasure-jobs", tags=["erasure"])


@router.post("", status_code=202, response_model=ErasureJobRead,
             summary="Erase a subject, a tenant or a category in every store (O25)")
async def create_erasure_job(body: ErasureJobCreate, principal: Staff, conn: DbConn,
                             settings: SettingsDep) -> dict:
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


@router.get("", response_model=Page[ErasureJobRead], summary="Erasure jobs, newest first")
async def list_erasure_jobs(
    principal: Staff, conn: DbConn, page: Paging,
    sort: Annotated[SortOrder, Depends(service.JOB_ORDERING)],
    status: Annotated[Literal["pending", "completed"] | None,
                      Query(description="Only jobs in this state")] = None,
    scope: Annotated[Literal["subject", "tenant", "category"] | None,
                     Query(description="Only jobs of this scope")] = None,
) -> Page[dict[str, Any]]:
    rows = await service.list_jobs(conn=conn, status=status, scope=scope, page=page, sort=sort)
    return page_of(rows, page, sort.cursor_key)


@router.get("/{job_id}", response_model=ErasureJobRead,
            summary="One erasure job with each store's answer and, once completed, its certificate")
async def get_erasure_job(job_id: uuid.UUID, principal: Staff, conn: DbConn) -> dict:
    job = await service.get_job(conn=conn, job_id=job_id)
    if job is None:
        raise ApiError(404, "not_found", "There is no erasure job with this id.")
    return job
