"""Subject requests: the fixed routes of API.md and the case's decisions, thin over flows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from privacy_kit.access_log import AccessLogged, ReadLog
from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Principal, current_principal, forbidden
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging
from privacy_kit.sorting import SortOrder
from subject_rights.cases import flows, service
from subject_rights.cases.access import check_can_see, check_controller, is_subject
from subject_rights.cases.models import (
    Approval,
    Case,
    CaseSummary,
    ErasureRequestCreate,
    ExtensionCreate,
    Kind,
    NoteOnly,
    RefusalCreate,
    Status,
    SubjectRequestCreate,
    VerificationResult,
    VerificationSubmission,
)
from subject_rights.clients import http_of
from subject_rights.i18n import tr
from subject_rights.settings import SettingsDep

router = APIRouter(prefix="/v1/subject-requests", tags=["subject requests"])
subjects_router = APIRouter(prefix="/v1/subjects/{subject_id}", tags=["subject requests"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or bad token"},
    403: {"description": "Not yours: another tenant's case, another person, or not the one who "
                         "decides"},
    404: {"description": "No such request"},
    409: {"description": "Not possible in the case's state (e.g. not verified, term ended)"},
}


async def _optional_principal(request: Request) -> Principal | None:
    if not request.headers.get("authorization"):
        return None
    return current_principal(request)


OptionalPrincipal = Annotated[Principal | None, Depends(_optional_principal)]


async def _visible(conn: Any, principal: Principal, case_id: uuid.UUID,
                   settings: SettingsDep) -> Any:
    row = await service.get_row(conn, case_id)
    check_can_see(principal, row, settings)
    return row


@router.post("", status_code=201, response_model=Case, responses=_ERRORS,
             summary="File a data subject request (O19); due four weeks after receipt (O21)",
             description="The person files about themself (verified by being signed in). Staff "
             "or a Beheerder enter a request received by e-mail or letter on the person's behalf "
             "with `subject_id`, `channel` and `received_on`; the person then gets a one-time "
             "code at the e-mail address on file (O20). A participant's request goes to their "
             "organisation's Beheerders, a platform user's to the platform's DPO (O23).")
async def file_request(body: SubjectRequestCreate, principal: CurrentPrincipal, conn: DbConn,
                       request: Request, settings: SettingsDep) -> Case:
    row = await flows.file_request(conn, http_of(request), settings, principal, body)
    return await service.read(conn, row, settings)


@router.get("", response_model=Page[CaseSummary], responses=_ERRORS,
            summary="The inbox: a tenant's requests (its Beheerders), the platform's (staff), "
                    "or your own, most urgent first")
async def inbox(
    principal: CurrentPrincipal, conn: DbConn, paging: Paging, settings: SettingsDep,
    sort: Annotated[SortOrder, Depends(service.INBOX_ORDERING)],
    log: Annotated[ReadLog, AccessLogged("subject requests inbox")],
    tenant_id: Annotated[str | None, Query(max_length=200)] = None,
    status: Status | None = None,
    kind: Kind | None = None,
    due: Annotated[str | None, Query(pattern="^(soon|overdue)$", description=(
        "'soon': due within three days; 'overdue': term ended, still open"))] = None,
    due_before: datetime | None = None,
) -> Page[CaseSummary]:
    filters: dict[str, Any] = {"status": status, "kind": kind, "due": due,
                               "due_before": due_before, "sort": sort}
    if principal.is_staff:
        if tenant_id:
            return await _shown(conn, log, await service.list_cases(
                conn, settings=settings, paging=paging, tenant_id=tenant_id, **filters))
        return await _shown(conn, log, await service.list_cases(
            conn, settings=settings, paging=paging, platform=True, **filters))
    if principal.has("beheerder"):
        if tenant_id is not None and tenant_id != principal.tenant:
            raise forbidden(tr("You see only your own organisation's requests."))
        if principal.tenant is None:
            raise forbidden(tr("Your token names no organisation."))
        return await _shown(conn, log, await service.list_cases(
            conn, settings=settings, paging=paging, tenant_id=principal.tenant, **filters))
    if tenant_id is not None:
        raise forbidden(tr("An organisation's inbox is for its Beheerders."))
    return await _shown(conn, log, await service.list_cases(
        conn, settings=settings, paging=paging, subject_id=principal.sub, **filters))


async def _shown(conn: Any, log: ReadLog, page: Page[CaseSummary]) -> Page[CaseSummary]:
    """O3: each request in the inbox is a read of the person who made it."""
    await log.record_rows(conn, [(c.subject_id, c.tenant_id) for c in page.items if c.subject_id],
                          what="subject request (inbox)")
    return page


@router.get("/{request_id}", response_model=Case, responses=_ERRORS,
            summary="One request with its history (the person, their Beheerder, staff)")
async def get_request(request_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn,
                      settings: SettingsDep,
                      log: Annotated[ReadLog, AccessLogged("subject request")]) -> Case:
    row = await _visible(conn, principal, request_id, settings)
    case = await service.read(conn, row, settings)
    await log.record(conn, subjects=[row["subject_id"]], tenant_id=row["tenant_id"],
                     what=f"subject request {request_id}")
    return case


@router.post("/{request_id}/verification", response_model=VerificationResult, responses={
    **_ERRORS, 410: {"description": "The code has expired"},
    422: {"description": "Wrong code (tries left are said)"},
    429: {"description": "Too many wrong tries"}},
    summary="Confirm who asked (O20): the one-time code, being signed in as the person, or the "
            "controller's own check")
async def verify(request_id: uuid.UUID, body: VerificationSubmission,
                 principal: OptionalPrincipal, conn: DbConn, request: Request,
                 settings: SettingsDep) -> VerificationResult:
    """Holding the code is enough (the mail may reach someone without an account); the answer
    says only that it worked."""
    if body.code is None and principal is None:
        raise ApiError(401, "missing_token", tr("Send the one-time code, or sign in."))
    row = await flows.verify(conn, http_of(request), settings, principal, request_id,
                             code=body.code, method=body.method, note=body.note)
    return VerificationResult(id=row["id"], kind=row["kind"], status=row["status"],
                              verified_at=row["verified_at"])


@router.post("/{request_id}/identity-code", status_code=202, responses=_ERRORS,
             summary="Send a new one-time code to the e-mail address on file (the person, the "
                     "controller)")
async def new_code(request_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn,
                   request: Request, settings: SettingsDep) -> dict[str, Any]:
    row = await service.get_row(conn, request_id)
    if not is_subject(principal, row, settings):
        check_controller(principal, row, "recorded by the controller")
    sent = await flows.resend_code(conn, http_of(request), settings, principal, row)
    return {"id": str(request_id), "code_sent": sent}


@router.post("/{request_id}/approval", response_model=Case, responses=_ERRORS,
             summary="Approve and carry out (the controller: the tenant's Beheerder, or the "
                     "platform's DPO) (O1, O23)",
             description="Access/portability: the bundle is assembled from every store. Erasure: "
             "a retention erasure job; the request completes with its certificate. "
             "Rectification: applied by training-records, recipients told. Restriction and "
             "objection: every store confirms. Withdrawal of consent: every purpose withdrawn. "
             "Refused with 409 while the person is not verified (O20).")
async def approve(request_id: uuid.UUID, body: Approval, principal: CurrentPrincipal,
                  conn: DbConn, request: Request, settings: SettingsDep) -> Case:
    row = await flows.approve(conn, http_of(request), settings, principal, request_id, body,
                              request.headers.get("authorization", ""))
    return await service.read(conn, row, settings)


@router.post("/{request_id}/refusal", response_model=Case, responses={
    **_ERRORS, 422: {"description": "Not a ground the law accepts (the message names them)"}},
    summary="Refuse on a ground the law accepts (O22); the person is told of their right to "
            "complain to the Autoriteit Persoonsgegevens")
async def refuse(request_id: uuid.UUID, body: RefusalCreate, principal: CurrentPrincipal,
                 conn: DbConn, request: Request, settings: SettingsDep) -> Case:
    row = await flows.refuse(conn, http_of(request), settings, principal, request_id, body)
    return await service.read(conn, row, settings)


@router.post("/{request_id}/extension", response_model=Case, responses=_ERRORS,
             summary="Extend the term once, by up to two months, before the first term ends, "
                     "with a reason the person is told (O21)")
async def extend(request_id: uuid.UUID, body: ExtensionCreate, principal: CurrentPrincipal,
                 conn: DbConn, request: Request, settings: SettingsDep) -> Case:
    row = await flows.extend(conn, http_of(request), settings, principal, request_id, body)
    return await service.read(conn, row, settings)


@router.post("/{request_id}/withdrawal", response_model=Case, responses=_ERRORS,
             summary="The person withdraws their request before it is carried out")
async def withdraw(request_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn,
                   settings: SettingsDep) -> Case:
    row = await flows.withdraw(conn, settings, principal, request_id)
    return await service.read(conn, row, settings)


@router.post("/{request_id}/restriction-lift", response_model=Case, responses=_ERRORS,
             summary="Lift the restriction a request put in place, in every store (controller)")
async def lift(request_id: uuid.UUID, body: NoteOnly, principal: CurrentPrincipal,
               conn: DbConn, settings: SettingsDep) -> Case:
    row = await flows.lift_restriction(conn, settings, principal, request_id,
                                       body.instruction_reference, body.note)
    return await service.read(conn, row, settings)


@router.post("/{request_id}/bundle", response_model=Case, responses=_ERRORS,
             summary="Assemble the access bundle again, e.g. after a store did not answer "
                     "(controller)")
async def rebuild_bundle(request_id: uuid.UUID, body: NoteOnly, principal: CurrentPrincipal,
                         conn: DbConn, request: Request, settings: SettingsDep) -> Case:
    row = await service.get_row(conn, request_id)
    check_controller(principal, row, body.instruction_reference)
    if row["kind"] not in ("access", "portability") or row["status"] not in (
            "in_progress", "completed"):
        raise ApiError(409, "no_bundle", tr("Only an approved access or portability request "
                                            "has a bundle."))
    row = await flows.build_bundle(conn, http_of(request), settings, row)
    return await service.read(conn, row, settings)


@router.get("/{request_id}/bundle", responses={
    **_ERRORS, 200: {"content": {"application/zip": {}}, "description": "The bundle (zip)"},
    410: {"description": "The bundle has expired and was deleted"}},
    summary="Download the access bundle (the person; their Beheerder for a tenant's case); "
            "every download is logged")
async def download_bundle(request_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn,
                          settings: SettingsDep) -> Response:
    row = await service.get_row(conn, request_id)
    if not (is_subject(principal, row, settings) or (
            row["tenant_id"] is not None and principal.has("beheerder")
            and principal.tenant == row["tenant_id"])):
        raise forbidden(tr("Only the person, or their organisation's Beheerder, downloads the "
                           "data."))
    async with conn.transaction():
        bundle = await conn.fetchrow(
            """SELECT id, expires_at, content FROM access_bundle WHERE request_id = $1
               ORDER BY created_at DESC LIMIT 1 FOR UPDATE""", request_id)
        if bundle is None:
            raise ApiError(404, "no_bundle", tr("There is no bundle for this request."))
        if bundle["expires_at"] <= datetime.now(UTC):
            await conn.execute("DELETE FROM access_bundle WHERE request_id = $1 AND "
                               "expires_at <= now()", request_id)
            expired = True
        else:
            expired = False
            await conn.execute(
                """INSERT INTO bundle_download (bundle_id, request_id, actor, actor_roles)
                   VALUES ($1, $2, $3, $4)""",
                bundle["id"], request_id, principal.sub, sorted(principal.roles))
    if expired:
        raise ApiError(410, "bundle_expired", tr("The bundle has expired and was deleted; ask "
                                                 "the controller to assemble it again."))
    return Response(bytes(bundle["content"]), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="subject-request-{request_id}.zip"',
        "Cache-Control": "no-store"})


@subjects_router.post("/erasure-request", status_code=201, response_model=Case,
                      responses=_ERRORS,
                      summary="Delete my account: opens an erasure request in the controller's "
                              "inbox (the person, signed in)")
async def erasure_request(subject_id: str, principal: CurrentPrincipal, conn: DbConn,
                          request: Request, settings: SettingsDep,
                          body: Annotated[ErasureRequestCreate | None, Body(
                              openapi_examples={"delete": {"summary": "Delete my account",
                                                           "value": {"details": "Please delete "
                                                                     "my account."}}},
                          )] = None) -> Case:
    if principal.sub != subject_id:
        raise forbidden(tr("Only the person themself asks this; others file a request on "
                           "their behalf at /v1/subject-requests."))
    create = SubjectRequestCreate(kind="erasure", details=body.details if body else "")
    row = await flows.file_request(conn, http_of(request), settings, principal, create)
    return await service.read(conn, row, settings)
