"""Consents of one subject: the fixed routes of API.md plus history, proofs and objections."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from consent.ledger import receipts, service
from consent.ledger.models import (
    ChainVerification,
    ConsentChange,
    ConsentRecordRead,
    ConsentRecordWritten,
    ObjectionChange,
    ObjectionRead,
    ParentalConsentCreate,
    ParentalConsentRead,
    Renewals,
    SubjectConsents,
)
from consent.settings import SettingsDep
from privacy_kit.access_log import AccessLogged, ReadLog
from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Staff, SubjectPrincipal
from privacy_kit.errors import ApiError
from privacy_kit.i18n import RequestLanguage
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import SortOrder

router = APIRouter(prefix="/v1", tags=["consents"])


def gpc_signal(request: Request) -> bool:
    """Global Privacy Control: `Sec-GPC: 1` (O12)."""
    return request.headers.get("sec-gpc", "").strip() == "1"


@router.get("/subjects/{subject_id}/consents", summary="Effective consent per purpose")
async def get_consents(
    subject_id: str, request: Request, conn: DbConn, _: SubjectPrincipal,
    log: Annotated[ReadLog, AccessLogged("consent state")],
) -> SubjectConsents:
    state = await service.effective_state(conn=conn, subject_id=subject_id,
                                          gpc=gpc_signal(request))
    await log.record(conn)
    return state


@router.put("/subjects/{subject_id}/consents/{purpose}",
            summary="Grant or withdraw one purpose: appends a record to the ledger")
async def put_consent(
    subject_id: str, purpose: str, body: ConsentChange, request: Request, conn: DbConn,
    principal: CurrentPrincipal, settings: SettingsDep,
) -> ConsentRecordWritten:
    actor = service.acting_as(principal, subject_id)
    async with conn.transaction():
        return await service.record_change(
            conn=conn, subject_id=subject_id, purpose_id=purpose, change=body, actor=actor,
            token_tenant=principal.tenant, gpc_signal=gpc_signal(request),
            age_of_consent=settings.age_of_consent, ledger_key=settings.ledger_key,
        )


@router.get("/subjects/{subject_id}/consents/history",
            summary="Every grant and withdrawal, oldest first")
async def get_history(
    subject_id: str, conn: DbConn, _: SubjectPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.HISTORY_ORDERING)],
    log: Annotated[ReadLog, AccessLogged("consent history")],
    purpose: Annotated[str | None, Query(description="Only this purpose", max_length=48)] = None,
) -> Page[ConsentRecordRead]:
    rows = await service.history(conn=conn, subject_id=subject_id, purpose_id=purpose, page=page,
                                 sort=sort)
    await log.record(conn)
    return page_of(rows, page, sort.cursor_key)


@router.get("/subjects/{subject_id}/consents/verification",
            summary="Recompute the subject's hash chain and report any break")
async def verify(
    subject_id: str, conn: DbConn, _: SubjectPrincipal, settings: SettingsDep,
    log: Annotated[ReadLog, AccessLogged("consent ledger verification")],
) -> ChainVerification:
    verification = await service.verify_chain(conn=conn, subject_id=subject_id,
                                              ledger_key=settings.ledger_key)
    await log.record(conn)
    return verification


@router.get("/subjects/{subject_id}/consents/records/{record_id}/receipt",
            summary="A consent receipt (ISO/IEC 27560, Kantara) for one record")
async def get_receipt(
    subject_id: str, record_id: uuid.UUID, conn: DbConn, _: SubjectPrincipal,
    settings: SettingsDep, language: RequestLanguage, response: Response,
    log: Annotated[ReadLog, AccessLogged("consent receipt")],
) -> dict[str, Any]:
    response.headers["Content-Language"] = language
    receipt = await receipts.receipt(conn=conn, settings=settings, subject_id=subject_id,
                                     record_id=record_id, language=language)
    await log.record(conn)
    return receipt


@router.get("/subjects/{subject_id}/marketing-objections",
            summary="Objections to direct marketing, the active one without lifted_at")
async def list_objections(
    subject_id: str, conn: DbConn, _: SubjectPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.OBJECTION_ORDERING)],
    log: Annotated[ReadLog, AccessLogged("marketing objections")],
) -> Page[ObjectionRead]:
    rows = await service.objections(conn=conn, subject_id=subject_id, page=page, sort=sort)
    await log.record(conn)
    return page_of(rows, page, sort.cursor_key)


@router.put("/subjects/{subject_id}/marketing-objection",
            summary="Object to direct marketing (all, or some purposes); beats any grant")
async def object_to_marketing(
    subject_id: str, body: ObjectionChange, conn: DbConn, principal: CurrentPrincipal
) -> ObjectionRead:
    actor = service.acting_as(principal, subject_id)
    async with conn.transaction():
        return await service.object_to_marketing(
            conn=conn, subject_id=subject_id, purposes=body.purposes, actor=actor,
            tenant_id=principal.tenant)


@router.delete("/subjects/{subject_id}/marketing-objection",
               summary="Lift the objection; grants on record count again")
async def lift_objection(
    subject_id: str, conn: DbConn, principal: CurrentPrincipal
) -> ObjectionRead:
    actor = service.acting_as(principal, subject_id)
    async with conn.transaction():
        return await service.lift_objection(conn=conn, subject_id=subject_id, actor=actor,
                                            tenant_id=principal.tenant)


@router.post("/subjects/{subject_id}/parental-consents", status_code=201,
             summary="Record verified parental consent for a person under 16 (dpo, operator)")
async def add_parental_consent(
    subject_id: str, body: ParentalConsentCreate, conn: DbConn, staff: Staff
) -> ParentalConsentRead:
    actor = service.acting_as(staff, subject_id)
    if not actor.on_behalf:
        raise ApiError(403, "forbidden", "Staff cannot verify parental consent for themselves.")
    async with conn.transaction():
        return await service.add_parental_consent(
            conn=conn, subject_id=subject_id, body=body, actor=actor)


@router.get("/subjects/{subject_id}/parental-consents", summary="Parental consents on record")
async def list_parental_consents(
    subject_id: str, conn: DbConn, _: SubjectPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.PARENTAL_CONSENT_ORDERING)],
    log: Annotated[ReadLog, AccessLogged("parental consents")],
) -> Page[ParentalConsentRead]:
    rows = await service.parental_consents(conn=conn, subject_id=subject_id, page=page, sort=sort)
    await log.record(conn)
    return page_of(rows, page, sort.cursor_key)


@router.get("/consent-renewals",
            summary="Who must be asked again after a material policy change (dpo, operator)")
async def get_renewals(
    conn: DbConn, _: Staff, log: Annotated[ReadLog, AccessLogged("who must renew consent")],
    purpose: Annotated[str | None, Query(description="Only this purpose")] = None,
) -> Renewals:
    renewals = await service.renewals(conn=conn, purpose_id=purpose)
    await log.record(conn, subjects=[])  # pseudonymous ids only: one row for the list
    return renewals
