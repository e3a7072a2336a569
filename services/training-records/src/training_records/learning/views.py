from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Principal, check_tenant_manager, forbidden
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import SortOrder
from training_records.access import check_registrar, reach_person
from training_records.certificates import service as certificates
from training_records.learning import service
from training_records.learning.models import (
    AssignmentCreate,
    AssignmentPage,
    AssignmentRead,
    LoginRead,
    ProgressRead,
    ProgressUpdate,
    ProgressWritten,
    ResultCreate,
    ResultPage,
    ResultRead,
    ResultWritten,
)
from training_records.participants import service as participants
from training_records.reading import read_person, visible_rows

router = APIRouter(prefix="/v1/tenants/{tenant_id}", tags=["training history"])
AssignmentSort = Annotated[SortOrder, Depends(service.ASSIGNMENT_ORDERING)]
ResultSort = Annotated[SortOrder, Depends(service.RESULT_ORDERING)]
TrainingFilter = Annotated[uuid.UUID | None, Query(description="Only this training")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or bad token"},
    403: {"description": "Not yours, or the person's processing is restricted"},
    404: {"description": "No such tenant, participant, training or module"},
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS, 409: {"description": "Processing restricted, or training not assigned"},
}


def _self_or_operator(principal: Principal, tenant_id: uuid.UUID, pid: uuid.UUID) -> None:
    """Learning activity is written by the person's own session, or by an operator."""
    reader = reach_person(principal, tenant_id, pid, beheerder=False)
    if not reader.as_self and not principal.has("operator"):
        raise forbidden("Only the participant themself (or an operator) records learning.")


@router.post(
    "/assignments", status_code=201, response_model=AssignmentRead, responses=_WRITE_ERRORS,
    summary="Assign a training to a participant (Beheerder of this tenant, or operator)",
)
async def assign(
    tenant_id: uuid.UUID, body: AssignmentCreate, conn: DbConn, principal: CurrentPrincipal
) -> AssignmentRead:
    check_registrar(principal, tenant_id, "assigns trainings")
    async with conn.transaction():
        await participants.ensure_writable(conn=conn, tenant_id=tenant_id,
                                           participant_id=body.participant_id)
        return await service.assign(conn=conn, tenant_id=tenant_id, body=body,
                                    actor=principal.sub)


@router.get(
    "/assignments", response_model=AssignmentPage, responses=_ERRORS,
    summary="The tenant's assignments: who assigned which training to whom (Beheerder, staff)",
)
async def list_assignments(
    tenant_id: uuid.UUID, conn: DbConn, request: Request, principal: CurrentPrincipal,
    page: Paging, sort: AssignmentSort, training_id: TrainingFilter = None,
) -> AssignmentPage:
    check_tenant_manager(principal, tenant_id)
    rows = await service.assignments_of_tenant(conn=conn, tenant_id=tenant_id,
                                               training_id=training_id, page=page, sort=sort)
    listed = page_of(rows, page, sort.cursor_key)
    shown, restricted = await visible_rows(conn, principal=principal, request=request,
                                           tenant_id=tenant_id, rows=listed.items,
                                           what="assignments")
    return AssignmentPage(items=[AssignmentRead(**r) for r in shown],
                          next_cursor=listed.next_cursor, restricted_participants=restricted)


@router.get(
    "/participants/{participant_id}/assignments", response_model=Page[AssignmentRead],
    responses=_ERRORS, summary="A participant's assignments (the person, Beheerder, staff)",
)
async def participant_assignments(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal, page: Paging, sort: AssignmentSort,
) -> Page[AssignmentRead]:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="assignments")
    rows = await service.assignments_of(conn=conn, participant_id=participant_id, page=page,
                                        sort=sort)
    return page_of(rows, page, sort.cursor_key)


@router.put(
    "/participants/{participant_id}/progress/{module_id}", response_model=ProgressWritten,
    responses=_WRITE_ERRORS,
    summary="Record progress on a module (the participant, or operator)",
    description="The first call marks the module started; `completed: true` completes it; "
    "`time_spent_s` is the running total. Completing the last module of a training whose "
    "latest result passed issues the certificate.",
)
async def record_progress(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, module_id: uuid.UUID, body: ProgressUpdate,
    conn: DbConn, principal: CurrentPrincipal,
) -> ProgressWritten:
    _self_or_operator(principal, tenant_id, participant_id)
    async with conn.transaction():
        await participants.ensure_writable(conn=conn, tenant_id=tenant_id,
                                           participant_id=participant_id)
        progress = await service.record_progress(
            conn=conn, tenant_id=tenant_id, participant_id=participant_id, module_id=module_id,
            body=body)
        issued = await certificates.issue_if_completed(
            conn=conn, tenant_id=tenant_id, participant_id=participant_id,
            training_id=progress.training_id)
    return ProgressWritten(**progress.model_dump(), certificate_id=issued)


@router.get(
    "/participants/{participant_id}/progress", response_model=Page[ProgressRead],
    responses=_ERRORS, summary="Progress per module (the person, Beheerder, staff)",
)
async def participant_progress(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.PROGRESS_ORDERING)],
) -> Page[ProgressRead]:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="module progress")
    rows = await service.progress_of(conn=conn, participant_id=participant_id, page=page,
                                     sort=sort)
    return page_of(rows, page, sort.cursor_key)


@router.post(
    "/participants/{participant_id}/logins", status_code=201, response_model=LoginRead,
    responses=_WRITE_ERRORS, summary="Record a login (the participant's session, or operator)",
)
async def record_login(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, principal: CurrentPrincipal
) -> LoginRead:
    _self_or_operator(principal, tenant_id, participant_id)
    async with conn.transaction():
        await participants.ensure_writable(conn=conn, tenant_id=tenant_id,
                                           participant_id=participant_id)
        return await service.record_login(conn=conn, tenant_id=tenant_id,
                                          participant_id=participant_id)


@router.get(
    "/participants/{participant_id}/logins", response_model=Page[LoginRead], responses=_ERRORS,
    summary="Login times, newest first (the person, Beheerder, staff)",
)
async def participant_logins(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.LOGIN_ORDERING)],
) -> Page[LoginRead]:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="login times")
    rows = await service.logins_of(conn=conn, participant_id=participant_id, page=page,
                                   sort=sort)
    return page_of(rows, page, sort.cursor_key)


@router.post(
    "/participants/{participant_id}/results", status_code=201, response_model=ResultWritten,
    responses=_WRITE_ERRORS,
    summary="Record a result of an assigned training (the participant's session, or operator)",
)
async def record_result(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, body: ResultCreate, conn: DbConn,
    principal: CurrentPrincipal,
) -> ResultWritten:
    _self_or_operator(principal, tenant_id, participant_id)
    async with conn.transaction():
        await participants.ensure_writable(conn=conn, tenant_id=tenant_id,
                                           participant_id=participant_id)
        result = await service.record_result(conn=conn, tenant_id=tenant_id,
                                             participant_id=participant_id, body=body,
                                             actor=principal.sub)
        issued = await certificates.issue_if_completed(
            conn=conn, tenant_id=tenant_id, participant_id=participant_id,
            training_id=body.training_id)
    return ResultWritten(**result.model_dump(), certificate_id=issued)


@router.get(
    "/participants/{participant_id}/results", response_model=Page[ResultRead],
    responses=_ERRORS,
    summary="A participant's results (the person, their Beheerder, staff) (O2)",
)
async def participant_results(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal, page: Paging, sort: ResultSort,
) -> Page[ResultRead]:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="results")
    rows = await service.results_of(conn=conn, participant_id=participant_id, page=page,
                                    sort=sort)
    return page_of(rows, page, sort.cursor_key)


@router.get(
    "/results", response_model=ResultPage, responses=_ERRORS,
    summary="Results of the trainings this organisation assigned (Beheerder, staff) (O2)",
)
async def tenant_results(
    tenant_id: uuid.UUID, conn: DbConn, request: Request, principal: CurrentPrincipal,
    page: Paging, sort: ResultSort, training_id: TrainingFilter = None,
) -> ResultPage:
    check_tenant_manager(principal, tenant_id)
    rows = await service.results_of_tenant(conn=conn, tenant_id=tenant_id,
                                           training_id=training_id, page=page, sort=sort)
    listed = page_of(rows, page, sort.cursor_key)
    shown, restricted = await visible_rows(conn, principal=principal, request=request,
                                           tenant_id=tenant_id, rows=listed.items,
                                           what="results")
    return ResultPage(items=[ResultRead(**r) for r in shown], next_cursor=listed.next_cursor,
                      restricted_participants=restricted)
