"""Who was told of a policy version and who accepted it (O14)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from consent.announcements import service
from consent.announcements.models import (
    Acceptance,
    AnnouncementSummary,
    Recipient,
    Status,
)
from consent.ledger.service import acting_as
from privacy_kit.access_log import AccessLogged, ReadLog
from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Staff, SubjectPrincipal
from privacy_kit.paging import Page, Paging
from privacy_kit.sorting import SortOrder

router = APIRouter(prefix="/v1", tags=["policy announcements"])


@router.get("/policy-announcements/{version}",
            summary="How many people a policy version concerns, were told, and accepted (staff)")
async def get_summary(version: str, conn: DbConn, _: Staff) -> AnnouncementSummary:
    return await service.summary(conn=conn, version=version)


@router.get("/policy-announcements/{version}/recipients",
            summary="Each person told of a policy version, when, and whether they accepted it")
async def list_recipients(
    version: str, conn: DbConn, _: Staff, page: Paging,
    sort: Annotated[SortOrder, Depends(service.RECIPIENT_ORDERING)],
    log: Annotated[ReadLog, AccessLogged("who was told of a policy version")],
    status: Annotated[Status | None, Query(description="Only this state")] = None,
) -> Page[Recipient]:
    recipients = await service.recipients(conn=conn, version=version, status=status, page=page,
                                          sort=sort)
    await log.record(conn, subjects=[r.subject_id for r in recipients.items])
    return recipients


@router.put("/subjects/{subject_id}/policy-acceptances/{version}",
            summary="Accept a policy version (the person, or staff on their behalf)")
async def accept(
    subject_id: str, version: str, conn: DbConn, principal: CurrentPrincipal
) -> Acceptance:
    actor = acting_as(principal, subject_id)
    async with conn.transaction():
        return await service.accept(conn=conn, subject_id=subject_id, version=version,
                                    actor=actor)


@router.get("/subjects/{subject_id}/policy-acceptances",
            summary="The policy versions this person accepted, newest first")
async def list_acceptances(
    subject_id: str, conn: DbConn, _: SubjectPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.ACCEPTANCE_ORDERING)],
    log: Annotated[ReadLog, AccessLogged("policy acceptances")],
) -> Page[Acceptance]:
    acceptances = await service.acceptances(conn=conn, subject_id=subject_id, page=page,
                                            sort=sort)
    await log.record(conn)
    return acceptances
