"""Contract termination (O18): record it, hand over the tenant's data, then erase it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Principal, check_tenant_manager, forbidden
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging
from retention.i18n import tr
from retention.settings import SettingsDep
from retention.termination import exports, service
from retention.termination.models import TenantExportRead, TerminationCreate, TerminationRead

router = APIRouter(prefix="/v1/contract-terminations", tags=["contract termination"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not an operator, nor a Beheerder of this tenant"},
    404: {"description": "No such termination (or export)"},
}


def _not_found() -> ApiError:
    return ApiError(404, "not_found", tr("There is no contract termination with this id."))


async def _reach(conn: DbConn, principal: Principal, termination_id: uuid.UUID) -> str:
    """The termination's tenant, if the caller manages it (staff, or its Beheerder)."""
    tenant_id = await service.tenant_of(conn=conn, termination_id=termination_id)
    if tenant_id is None:
        raise _not_found()
    check_tenant_manager(principal, tenant_id)
    return tenant_id


def _may_change(principal: Principal, tenant_id: str) -> None:
    """Operators, or a Beheerder of this tenant (the DPO reads along)."""
    if principal.has("operator"):
        return
    if principal.has("beheerder") and principal.tenant == tenant_id:
        return
    raise forbidden(tr("An operator or a Beheerder of this organisation records its contract's end."))


@router.post(
    "", status_code=201, responses={**_ERRORS, 409: {"description": "Already recorded"}},
    summary="Record the end of a client's contract (operator, or a Beheerder of that tenant)",
    description="Until the end date the tenant's Beheerders can ask for the export of all its "
    "data. From the next day the tenant cannot add participants or training data. After the "
    "grace period (`TERMINATION_GRACE_S`) the tenant is erased in every store, unless a legal "
    "hold on the tenant keeps it (status `held`); the erasure's certificate is attached here.",
)
async def record_termination(
    body: TerminationCreate, principal: CurrentPrincipal, conn: DbConn, settings: SettingsDep,
) -> TerminationRead:
    _may_change(principal, body.tenant_id)
    if not principal.has("operator") and body.end_date < datetime.now(UTC).date():
        raise ApiError(422, "end_date_in_the_past",
                       tr("A Beheerder records a contract end from today on; an operator can "
                          "record one that has already passed."))
    try:
        async with conn.transaction():
            termination_id = await service.record(
                conn=conn, body=body, actor=principal.sub,
                grace=timedelta(seconds=settings.termination_grace_s),
                source=settings.service_name)
    except service.AlreadyTerminated as exc:
        raise ApiError(409, "already_terminated",
                       tr("This tenant's contract end is already recorded; cancel that one "
                          "first to record another date.")) from exc
    termination = await service.get(conn=conn, termination_id=termination_id)
    assert termination is not None
    return termination


@router.get("", summary="Contract terminations, newest first (staff: all; a Beheerder: theirs)")
async def list_terminations(
    principal: CurrentPrincipal, conn: DbConn, paging: Paging,
    tenant_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[TerminationRead]:
    if not principal.is_staff:
        if not principal.has("beheerder") or principal.tenant is None:
            raise forbidden(tr("Only staff and a tenant's Beheerders see contract terminations."))
        if tenant_id not in (None, principal.tenant):
            raise forbidden(tr("This belongs to another organisation."))
        tenant_id = principal.tenant
    return await service.list_page(conn=conn, paging=paging, tenant_id=tenant_id)


@router.get("/{termination_id}", responses=_ERRORS,
            summary="One termination: its state, legal holds, exports and the certificate")
async def get_termination(
    termination_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn,
) -> TerminationRead:
    await _reach(conn, principal, termination_id)
    termination = await service.get(conn=conn, termination_id=termination_id)
    assert termination is not None
    return termination


@router.post("/{termination_id}/cancel", responses={
    **_ERRORS, 409: {"description": "The end date has passed"}},
    summary="Cancel a termination before its end date")
async def cancel_termination(
    termination_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn,
) -> TerminationRead:
    tenant_id = await _reach(conn, principal, termination_id)
    _may_change(principal, tenant_id)
    try:
        async with conn.transaction():
            await service.cancel(conn=conn, termination_id=termination_id, actor=principal.sub)
    except service.NotCancellable as exc:
        raise ApiError(409, "not_cancellable",
                       tr("This termination is {status}; only one whose end date has not "
                          "passed can be cancelled.", status=str(exc))) from exc
    termination = await service.get(conn=conn, termination_id=termination_id)
    assert termination is not None
    return termination


@router.post(
    "/{termination_id}/exports", status_code=202,
    responses={**_ERRORS, 409: {"description": "The contract has ended"}},
    summary="Ask for the tenant's export: one zip archive of its data in every store",
    description="Gathered in the background; poll the export until `ready`, then download it "
    "(the tenant's Beheerders only) before `expires_at`. JSON lines per store and category, "
    "CSV per table, and `manifest.json` with the counts.",
)
async def request_export(
    termination_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn, request: Request,
) -> TenantExportRead:
    await _reach(conn, principal, termination_id)
    try:
        async with conn.transaction():
            export_id = await exports.request(conn=conn, termination_id=termination_id,
                                              actor=principal.sub)
    except exports.ContractEnded as exc:
        raise ApiError(409, "contract_ended",
                       tr("The export is offered until the contract's end date; that has "
                          "passed (or the termination was cancelled).")) from exc
    exports.start_gathering(request.app, export_id)
    return await _export(conn, termination_id, export_id)


async def _export(conn: DbConn, termination_id: uuid.UUID,
                  export_id: uuid.UUID) -> TenantExportRead:
    termination = await service.get(conn=conn, termination_id=termination_id)
    found = [e for e in (termination.exports if termination else []) if e.id == export_id]
    if not found:
        raise ApiError(404, "not_found", tr("There is no such export of this termination."))
    return found[0]


@router.get("/{termination_id}/exports/{export_id}", responses=_ERRORS,
            summary="One export: preparing, ready (with counts and checksum), failed or expired")
async def get_export(
    termination_id: uuid.UUID, export_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn,
) -> TenantExportRead:
    await _reach(conn, principal, termination_id)
    return await _export(conn, termination_id, export_id)


@router.get(
    "/{termination_id}/exports/{export_id}/download",
    responses={**_ERRORS, 409: {"description": "Not ready, failed"},
               410: {"description": "Expired and deleted"},
               200: {"content": {"application/zip": {}}, "description": "The archive"}},
    response_class=StreamingResponse,
    summary="Download the tenant's export (its Beheerders only; every download is logged)",
)
async def download_export(
    termination_id: uuid.UUID, export_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn,
    request: Request,
) -> StreamingResponse:
    tenant_id = await _reach(conn, principal, termination_id)
    if not (principal.has("beheerder") and principal.tenant == tenant_id):
        raise forbidden(tr("Only the organisation's own Beheerders download its data."))
    try:
        async with conn.transaction():
            row = await exports.open_download(conn=conn, termination_id=termination_id,
                                              export_id=export_id, actor=principal.sub)
    except LookupError as exc:
        raise ApiError(404, "not_found", tr("There is no such export of this termination.")) from exc
    except exports.NotAvailable as exc:
        if str(exc) == "expired":
            raise ApiError(410, "export_expired",
                           tr("This export has expired and was deleted; ask for a new one "
                              "before the contract's end date.")) from exc
        raise ApiError(409, "export_not_ready", tr("This export is {status}.", status=str(exc))) from exc
    return StreamingResponse(
        exports.chunks(request.app.state.pool, export_id), media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="tenant-{tenant_id}-export.zip"',
                 "Content-Length": str(row["size_bytes"]),
                 "X-Content-SHA256": row["sha256"]})
