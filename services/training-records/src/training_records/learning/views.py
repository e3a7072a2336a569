from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Principal, check_tenant_manager, forbidden
from training_records.access import check_registrar, reach_person
from training_records.certificates import service as certificates
from training_records.learning import service
from training_records.learning.models import (
    AssignmentCreate,
    AssignmentList,
    AssignmentRead,
    LoginList,
    LoginRead,
    ProgressList,
    ProgressUpdate,
    ProgressWritten,
    ResultCreate,
    ResultList,
    ResultRead,
    ResultWritten,
)
from training_records.participants import service as participants
from training_records.reading import read_person, visible_rows

router = APIRouter(prefix="/v1/tenants/{tenant_id}", tags=["training history"])

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
    "/assignments", response_model=AssignmentList, responses=_ERRORS,
    summary="The tenant's assignments: who assigned which training to whom (Beheerder, staff)",
)
async def list_assignments(
    tenant_id: uuid.UUID, conn: DbConn, request: Request, principal: CurrentPrincipal,
    training_id: Annotated[uuid.UUID | None, Query()] = None,
) -> AssignmentList:
    check_tenant_manager(principal, tenant_id)
    rows = await service.assignments_of_tenant(conn=conn, tenant_id=tenant_id,
                                               training_id=training_id)
    shown, restricted = await visible_rows(conn, principal=principal, request=request,
                                           tenant_id=tenant_id, rows=rows, what="assignments")
    return AssignmentList(items=[AssignmentRead(**r) for r in shown],
                          restricted_participants=restricted)


@router.get(
    "/participants/{participant_id}/assignments", response_model=AssignmentList,
    responses=_ERRORS, summary="A participant's assignments (the person, Beheerder, staff)",
)
async def participant_assignments(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal,
) -> AssignmentList:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="assignments")
    return AssignmentList(items=await service.assignments_of(conn=conn,
                                                             participant_id=participant_id))


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
    "/participants/{participant_id}/progress", response_model=ProgressList, responses=_ERRORS,
    summary="Progress per module (the person, Beheerder, staff)",
)
async def participant_progress(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal,
) -> ProgressList:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="module progress")
    return ProgressList(participant_id=participant_id,
                        items=await service.progress_of(conn=conn, participant_id=participant_id))


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
    "/participants/{participant_id}/logins", response_model=LoginList, responses=_ERRORS,
    summary="Login times, newest first (the person, Beheerder, staff)",
)
async def participant_logins(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal,
) -> LoginList:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="login times")
    return LoginList(participant_id=participant_id,
                     items=await service.logins_of(conn=conn, participant_id=participant_id))


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
    "/participants/{participant_id}/results", response_model=ResultList, responses=_ERRORS,
    summary="A participant's results (the person, their Beheerder, staff) (O2)",
)
async def participant_results(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal,
) -> ResultList:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="results")
    return ResultList(items=await service.results_of(conn=conn, participant_id=participant_id))


@router.get(
    "/results", response_model=ResultList, responses=_ERRORS,
    summary="Results of the trainings this organisation assigned (Beheerder, staff) (O2)",
)
async def tenant_results(
    tenant_id: uuid.UUID, conn: DbConn, request: Request, principal: CurrentPrincipal,
    training_id: Annotated[uuid.UUID | None, Query()] = None,
) -> ResultList:
    check_tenant_manager(principal, tenant_id)
    rows = await service.results_of_tenant(conn=conn, tenant_id=tenant_id,
                                           training_id=training_id)
    shown, restricted = await visible_rows(conn, principal=principal, request=request,
                                           tenant_id=tenant_id, rows=rows, what="results")
    return ResultList(items=[ResultRead(**r) for r in shown], restricted_participants=restricted)
