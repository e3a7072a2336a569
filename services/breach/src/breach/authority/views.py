"""The authority's routes (dpo, operator): the report (JSON, fixed route; PDF) and submissions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import Response

from breach.authority import pdf, service
from breach.authority.models import AuthorityNotificationCreate, AuthorityReport
from breach.clock import Now, refuse_future
from breach.register.models import BreachRead
from breach.register.service import get as get_breach
from breach.register.service import not_found
from breach.settings import SettingsDep
from breach.timeline import Actor
from privacy_kit.auth import Staff
from privacy_kit.deps import DbConn

router = APIRouter(prefix="/v1/breaches", tags=["breaches"])


@router.get(
    "/{breach_id}/authority-report", response_model=AuthorityReport,
    summary="The fields of the Autoriteit Persoonsgegevens' notification form (O28)",
    description="Everything the AP's form asks, from the register, so the DPO can fill it in; "
                "`missing` lists what the register cannot answer yet. Also as a PDF at "
                "`/authority-report.pdf`.",
)
async def authority_report(
    breach_id: uuid.UUID, principal: Staff, conn: DbConn, now: Now, settings: SettingsDep,
) -> AuthorityReport:
    found = await service.report(conn=conn, breach_id=breach_id, now=now, settings=settings)
    if found is None:
        raise not_found()
    return found


@router.get(
    "/{breach_id}/authority-report.pdf", response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="The authority report as a PDF",
)
async def authority_report_pdf(
    breach_id: uuid.UUID, principal: Staff, conn: DbConn, now: Now, settings: SettingsDep,
) -> Response:
    found = await service.report(conn=conn, breach_id=breach_id, now=now, settings=settings)
    if found is None:
        raise not_found()
    return Response(pdf.render(found), media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="breach-{breach_id}-authority-report.pdf"'})


@router.post(
    "/{breach_id}/authority-notifications", response_model=BreachRead,
    summary="Record that the report was submitted to the AP (initial or follow-up)",
    description="An initial report after the 72 hours needs `delay_reason` (Art. 33(1)).",
)
async def record_submission(
    breach_id: uuid.UUID, body: AuthorityNotificationCreate, principal: Staff, conn: DbConn,
    now: Now, settings: SettingsDep,
) -> BreachRead:
    refuse_future(now, settings.future_tolerance_s, submitted_at=body.submitted_at)
    async with conn.transaction():
        await service.record_submission(conn=conn, breach_id=breach_id, body=body,
                                        actor=Actor.of(principal), now=now, settings=settings)
    found = await get_breach(conn=conn, breach_id=breach_id, now=now, settings=settings)
    assert found is not None
    return found
