from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from privacy_kit.app import DbConn
from privacy_kit.auth import (
    CurrentPrincipal,
    Operator,
    Principal,
    Staff,
    check_tenant_manager,
)
from training_records.access import check_registrar, log_reads, reach_person
from training_records.participants import flows, service
from training_records.participants.models import (
    AccessLog,
    AccessLogEntry,
    BeheerderCreate,
    BeheerderRead,
    ParticipantCreate,
    ParticipantCreated,
    ParticipantList,
    ParticipantRead,
    ParticipantUpdate,
    ParticipantUpdated,
    RectificationHistory,
    RestrictionState,
)
from training_records.provider import TrainingRecordsProvider
from training_records.reading import read_person
from training_records.sensitive import refuse_bsn

router = APIRouter(prefix="/v1/tenants/{tenant_id}", tags=["participants"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or bad token"},
    403: {"description": "Not yours: another tenant, another person, or a missing role"},
    404: {"description": "No such tenant or participant"},
}
_REFUSALS: dict[int | str, dict[str, Any]] = {422: {
    "description": "Invalid input, a BSN in any field (O5), or an under-16 without parental "
                   "consent (O6)",
    "content": {"application/json": {"examples": {
        "bsn": {"value": {"error": {
            "code": "bsn_not_allowed",
            "message": "The field 'company' contains what is a Dutch citizen service number "
                       "(BSN). ...",
            "details": [{"field": "company", "message": "contains a BSN"}]}}},
        "under_16": {"value": {"error": {
            "code": "under_16_without_parental_consent",
            "message": "The participant is under 16: they can only be registered with verified "
                       "parental consent. ..."}}},
    }}},
}}


@router.post(
    "/participants", status_code=201, response_model=ParticipantCreated,
    summary="Register a participant (Beheerder of this tenant, or operator)",
    description="The new id is a random pseudonymous UUID; it is the `sub` of the participant's "
    "tokens. Refused with 422 when any field carries a BSN (unless the tenant has the special-data "
    "agreement) or the participant is under 16 without recorded parental consent.",
    responses={**_ERRORS, **_REFUSALS, 409: {"description": "E-mail already registered"}},
)
async def create_participant(
    tenant_id: uuid.UUID, body: ParticipantCreate, conn: DbConn, principal: CurrentPrincipal
) -> ParticipantCreated:
    check_registrar(principal, tenant_id, "registers people")
    async with conn.transaction():
        created = await flows.register_participant(
            conn=conn, tenant_id=tenant_id, body=body, actor=principal.sub)
    return ParticipantCreated(**created.model_dump())


@router.get(
    "/participants", response_model=ParticipantList, responses=_ERRORS,
    summary="List the tenant's participants (Beheerder of this tenant, or staff)",
    description="Every listed person's profile read is written to the access log. Restricted "
    "people appear only as id and `restricted: true` to Beheerders.",
)
async def list_participants(
    tenant_id: uuid.UUID, conn: DbConn, request: Request, principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ParticipantList:
    check_tenant_manager(principal, tenant_id)
    async with conn.transaction():
        rows, total = await service.list_page(conn=conn, tenant_id=tenant_id, limit=limit,
                                              offset=offset)
        hide = not principal.is_staff
        items = [service.to_read(r, hide=hide) for r in rows]
        await log_reads(conn, principal=principal, request=request, tenant_id=tenant_id,
                        subject_ids=[p.id for p in items if not p.restricted or not hide],
                        what="participant profile (list)")
    return ParticipantList(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/participants/{participant_id}", response_model=ParticipantRead, responses=_ERRORS,
    summary="Read a participant (the person, their tenant's Beheerder, or staff)",
)
async def get_participant(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal,
) -> ParticipantRead:
    reader = reach_person(principal, tenant_id, participant_id)
    row = await service.get_row(conn=conn, tenant_id=tenant_id, participant_id=participant_id)
    participant = service.to_read(row, hide=reader.as_beheerder)
    if reader.is_other and not (reader.as_beheerder and participant.restricted):
        await log_reads(conn, principal=principal, request=request, tenant_id=tenant_id,
                        subject_ids=[participant_id], what="participant profile")
    return participant


@router.patch(
    "/participants/{participant_id}", response_model=ParticipantUpdated,
    summary="Rectify a participant's data (the person, their Beheerder, or staff) (O24)",
    description="Only the fields sent change; each change is kept with old and new value, time "
    "and actor, and `subject.rectified` is emitted with the field names only. A birth date "
    "corrected to under 16 without parental consent asks retention to erase the person (O6).",
    responses={**_ERRORS, **_REFUSALS, 409: {"description": "Processing is restricted"}},
)
async def update_participant(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, body: ParticipantUpdate, conn: DbConn,
    principal: CurrentPrincipal,
) -> ParticipantUpdated:
    reach_person(principal, tenant_id, participant_id)
    async with conn.transaction():
        return await flows.rectify_participant(
            conn=conn, tenant_id=tenant_id, participant_id=participant_id, body=body,
            actor=principal.sub)


@router.get(
    "/participants/{participant_id}/rectifications", response_model=RectificationHistory,
    responses=_ERRORS, summary="What was corrected, when and by whom (O24)",
)
async def rectification_history(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal,
) -> RectificationHistory:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="rectification history")
    return RectificationHistory(
        participant_id=participant_id,
        items=await service.history(conn=conn, person_id=participant_id))


@router.get(
    "/participants/{participant_id}/access-log", response_model=AccessLog, responses=_ERRORS,
    summary="Who read this person's data, when, and through which route (the person, staff)",
)
async def access_log(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal,
) -> AccessLog:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="access log", beheerder=False)
    rows = await conn.fetch(
        """SELECT actor_sub AS actor, actor_roles, what, route, read_at FROM access_log
           WHERE subject_id = $1 ORDER BY id""", participant_id)
    return AccessLog(participant_id=participant_id,
                     items=[AccessLogEntry(**dict(r)) for r in rows])


@router.get(
    "/participants/{participant_id}/export", responses=_ERRORS,
    summary="Everything held on the person, machine-readable, with purposes, sources and "
            "recipients (the person, staff) (O19)",
)
async def export_participant(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="full export", beheerder=False)
    provider: TrainingRecordsProvider = request.app.state.provider
    return {"store": provider.store,
            "data": await provider.export(conn, str(participant_id))}


@router.put(
    "/participants/{participant_id}/restriction", response_model=RestrictionState,
    responses=_ERRORS, summary="Restrict processing of a participant (DPO, operator)",
    description="While restricted their records cannot be changed (409) and Beheerders see only "
    "the fact of restriction. Restriction also arrives as the `subject.restricted` event.",
)
async def restrict(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, principal: Staff
) -> RestrictionState:
    return await _set_restriction(conn, tenant_id, participant_id, principal, restricted=True)


@router.delete(
    "/participants/{participant_id}/restriction", response_model=RestrictionState,
    responses=_ERRORS, summary="Lift a restriction: everything is restored (DPO, operator)",
)
async def lift(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, principal: Staff
) -> RestrictionState:
    return await _set_restriction(conn, tenant_id, participant_id, principal, restricted=False)


async def _set_restriction(
    conn: Any, tenant_id: uuid.UUID, participant_id: uuid.UUID, principal: Principal, *,
    restricted: bool,
) -> RestrictionState:
    async with conn.transaction():
        await service.get_row(conn=conn, tenant_id=tenant_id, participant_id=participant_id)
        row = await service.set_restriction(conn=conn, person_id=participant_id,
                                            restricted=restricted, actor=principal.sub)
    return RestrictionState(participant_id=participant_id, restricted=restricted,
                            restricted_at=row["restricted_at"] if row else None)


@router.post(
    "/beheerders", status_code=201, response_model=BeheerderRead, responses=_ERRORS,
    summary="Register a Beheerder of this tenant (operator); its id is their token's `sub`",
)
async def create_beheerder(
    tenant_id: uuid.UUID, body: BeheerderCreate, conn: DbConn,
    principal: Operator,
) -> BeheerderRead:
    async with conn.transaction():
        allowed = await flows.special_data_allowed(conn=conn, tenant_id=tenant_id)
        refuse_bsn(body.model_dump(mode="json", exclude_none=True), allowed=allowed)
        return await service.create_beheerder(conn=conn, tenant_id=tenant_id, body=body,
                                              created_by=principal.sub)


@router.get(
    "/beheerders", response_model=list[BeheerderRead], responses=_ERRORS,
    summary="The tenant's Beheerders (its Beheerders, or staff)",
)
async def list_beheerders(
    tenant_id: uuid.UUID, conn: DbConn, principal: CurrentPrincipal
) -> list[BeheerderRead]:
    check_tenant_manager(principal, tenant_id)
    return await service.list_beheerders(conn=conn, tenant_id=tenant_id)
