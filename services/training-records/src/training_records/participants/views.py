from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from privacy_kit.app import DbConn
from privacy_kit.auth import (
    CurrentPrincipal,
    Operator,
    Principal,
    Staff,
    check_tenant_manager,
)
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.preconditions import IfMatch
from privacy_kit.sorting import SortOrder
from training_records.access import (
    beheerder_sees,
    check_registrar,
    log_reads,
    not_assigned,
    reach_person,
)
from training_records.participants import flows, service
from training_records.participants.models import (
    AccessLogEntry,
    AccountClosure,
    BeheerderCreate,
    BeheerderRead,
    ParticipantCreate,
    ParticipantCreated,
    ParticipantRead,
    ParticipantUpdate,
    ParticipantUpdated,
    Rectification,
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
    tenant_id: uuid.UUID, body: ParticipantCreate, conn: DbConn, principal: CurrentPrincipal,
    response: Response,
) -> ParticipantCreated:
    check_registrar(principal, tenant_id, "registers people")
    async with conn.transaction():
        created = await flows.register_participant(
            conn=conn, tenant_id=tenant_id, body=body, actor=principal.sub)
        response.headers["ETag"] = await service.current_etag(conn=conn,
                                                              participant_id=created.id)
    response.headers["Location"] = f"/v1/tenants/{tenant_id}/participants/{created.id}"
    return ParticipantCreated(**created.model_dump())


ParticipantSort = Annotated[SortOrder, Depends(service.PARTICIPANT_ORDERING)]
HistorySort = Annotated[SortOrder, Depends(service.HISTORY_ORDERING)]


@router.get(
    "/participants", response_model=Page[ParticipantRead], responses=_ERRORS,
    summary="List the tenant's participants (Beheerder of this tenant, or staff)",
    description="Every listed person's profile read is written to the access log. Restricted "
    "people appear only as id and `restricted: true` to Beheerders.",
)
async def list_participants(
    tenant_id: uuid.UUID, conn: DbConn, request: Request, principal: CurrentPrincipal,
    page: Paging, sort: ParticipantSort,
    restricted: Annotated[bool | None, Query(description="Only restricted (true) or "
                                             "unrestricted (false) people")] = None,
) -> Page[ParticipantRead]:
    check_tenant_manager(principal, tenant_id)
    async with conn.transaction():
        rows = await service.list_page(conn=conn, tenant_id=tenant_id, page=page, sort=sort,
                                       restricted=restricted)
        listed = page_of(rows, page, sort.cursor_key)
        hide = not principal.is_staff
        full = await beheerder_sees(conn, principal, tenant_id, [r["id"] for r in listed.items])
        items = [service.to_read(r, hide=hide, summary=r["id"] not in full)
                 for r in listed.items]
        await log_reads(conn, principal=principal, request=request, tenant_id=tenant_id,
                        subject_ids=[p.id for p in items if p.view == "full"],
                        what="participant profile (list)")
        await log_reads(conn, principal=principal, request=request, tenant_id=tenant_id,
                        subject_ids=[p.id for p in items if p.view == "summary"],
                        what="participant name and status (list)")
    return Page(items=items, next_cursor=listed.next_cursor)


@router.get(
    "/participants/{participant_id}", response_model=ParticipantRead, responses=_ERRORS,
    summary="Read a participant (the person, their tenant's Beheerder, or staff)",
)
async def get_participant(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal, response: Response,
) -> ParticipantRead:
    reader = reach_person(principal, tenant_id, participant_id)
    row = await service.get_row(conn=conn, tenant_id=tenant_id, participant_id=participant_id)
    response.headers["ETag"] = service.etag(row)
    summary = reader.as_beheerder and not await beheerder_sees(conn, principal, tenant_id,
                                                               [participant_id])
    participant = service.to_read(row, hide=reader.as_beheerder, summary=summary)
    if reader.is_other and participant.view != "restricted":
        await log_reads(conn, principal=principal, request=request, tenant_id=tenant_id,
                        subject_ids=[participant_id],
                        what="participant name and status" if summary else "participant profile")
    return participant


@router.patch(
    "/participants/{participant_id}", response_model=ParticipantUpdated,
    summary="Rectify a participant's data (the person, their Beheerder, or staff) (O24)",
    description="Only the fields sent change; each change is kept with old and new value, time "
    "and actor, and `subject.rectified` is emitted with the field names only. A birth date "
    "corrected to under 16 without parental consent asks retention to erase the person (O6). "
    "Send the `ETag` you read as `If-Match` to be refused (412) rather than overwrite a "
    "correction made in between.",
    responses={**_ERRORS, **_REFUSALS, 409: {"description": "Processing is restricted"}},
)
async def update_participant(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, body: ParticipantUpdate, conn: DbConn,
    principal: CurrentPrincipal, response: Response, if_match: IfMatch = None,
) -> ParticipantUpdated:
    reader = reach_person(principal, tenant_id, participant_id)
    if reader.as_beheerder and not await beheerder_sees(conn, principal, tenant_id,
                                                        [participant_id]):
        raise not_assigned()  # the answer is the whole profile (O2)
    async with conn.transaction():
        updated = await flows.rectify_participant(
            conn=conn, tenant_id=tenant_id, participant_id=participant_id, body=body,
            actor=principal.sub, if_match=if_match)
        response.headers["ETag"] = await service.current_etag(conn=conn,
                                                              participant_id=participant_id)
    return updated


@router.get(
    "/participants/{participant_id}/rectifications", response_model=Page[Rectification],
    responses=_ERRORS, summary="What was corrected, when and by whom (O24)",
)
async def rectification_history(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal, page: Paging, sort: HistorySort,
) -> Page[Rectification]:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="rectification history")
    rows = await service.history(conn=conn, person_id=participant_id, page=page, sort=sort)
    return page_of(rows, page, sort.cursor_key)


@router.get(
    "/participants/{participant_id}/access-log", response_model=Page[AccessLogEntry],
    responses=_ERRORS,
    summary="Who read this person's data, when, and through which route (the person, staff)",
)
async def access_log(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, request: Request,
    principal: CurrentPrincipal, page: Paging, sort: HistorySort,
) -> Page[AccessLogEntry]:
    await read_person(conn, principal=principal, request=request, tenant_id=tenant_id,
                      participant_id=participant_id, what="access log", beheerder=False)
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT id, actor_sub AS actor, actor_roles, purpose, what, reason, route, read_at
            FROM access_log
            WHERE subject_id = $1 AND {where} ORDER BY {order_by} LIMIT {page.limit + 1}""",
        str(participant_id), *args)
    return page_of([AccessLogEntry(**dict(r)) for r in rows], page, sort.cursor_key)


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
    "/participants/{participant_id}/closure", response_model=AccountClosure, responses=_ERRORS,
    summary="Close a participant's account (their Beheerder, or staff)",
    description="The training history lives while the account exists (O15). From the closure "
    "on, the retention rules with the clock `account_closed` run: a retention sweep anonymises "
    "the training history into the per-training and per-module aggregates (nothing of people "
    "who opted out of anonymised data, O13) and erases the rest. Closing twice keeps the first "
    "time.",
)
async def close_account(
    tenant_id: uuid.UUID, participant_id: uuid.UUID, conn: DbConn, principal: CurrentPrincipal
) -> AccountClosure:
    check_tenant_manager(principal, tenant_id)
    async with conn.transaction():
        closed_at = await service.close_account(conn=conn, tenant_id=tenant_id,
                                                participant_id=participant_id)
    return AccountClosure(participant_id=participant_id, closed_at=closed_at)


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
    "/beheerders", response_model=Page[BeheerderRead], responses=_ERRORS,
    summary="The tenant's Beheerders (its Beheerders, or staff)",
)
async def list_beheerders(
    tenant_id: uuid.UUID, conn: DbConn, principal: CurrentPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.BEHEERDER_ORDERING)],
) -> Page[BeheerderRead]:
    check_tenant_manager(principal, tenant_id)
    rows = await service.list_beheerders(conn=conn, tenant_id=tenant_id, page=page, sort=sort)
    return page_of(rows, page, sort.cursor_key)
