"""Calls from other services (service token only, never routed by the gateway)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from consent import events
from consent.ledger import service
from consent.ledger.models import (
    Actor,
    ParentalConsentCreate,
    ParentalConsentFromStore,
    ParentalConsentRead,
)
from consent.settings import SettingsDep
from privacy_kit.app import DbConn
from privacy_kit.auth import ServiceCaller

router = APIRouter(prefix="/internal/subjects/{subject_id}", tags=["internal"],
                   include_in_schema=False)


class AllWithdrawn(BaseModel):
    subject_id: str
    withdrawn: list[str]
    recorded_at: datetime | None


@router.post("/consents/withdrawal",
             summary="Withdraw every purpose, as a subject request asked (O19)")
async def withdraw_all(
    subject_id: str, conn: DbConn, caller: ServiceCaller, settings: SettingsDep
) -> AllWithdrawn:
    """Subject-rights carries out a verified 'withdrawal of all consent' request: one
    withdrawal record per purpose, chained like any other, on the person's behalf."""
    actor = Actor(sub=f"service:{caller.sub}", role="service", on_behalf=True)
    async with conn.transaction():
        before = await service.effective_state(conn=conn, subject_id=subject_id)
        records = await service.withdraw_all(conn=conn, subject_id=subject_id, actor=actor,
                                             ledger_key=settings.ledger_key)
        after = await service.effective_state(conn=conn, subject_id=subject_id)
        for purpose, state in after.consents.items():
            old = before.consents.get(purpose)
            if old is not None and old.granted != state.granted:
                await events.consent_changed(conn, subject_id=subject_id, purpose=purpose,
                                             granted=state.granted)
    return AllWithdrawn(subject_id=subject_id, withdrawn=[r.purpose for r in records],
                        recorded_at=records[-1].recorded_at if records else None)


@router.post("/parental-consents", status_code=201,
             summary="Record the parental consent a Beheerder checked for an under-16 (O6)")
async def record_parental_consent(
    subject_id: str, body: ParentalConsentFromStore, conn: DbConn, caller: ServiceCaller
) -> ParentalConsentRead:
    """Training-records registers or corrects an under-16: the consent it was shown becomes the
    person's parental-consent record here, the one place it is kept; training-records keeps the
    id. The verifier is the Beheerder, acting for the child through that store."""
    actor = Actor(sub=body.verified_by, role="beheerder", on_behalf=True)
    create = ParentalConsentCreate(**body.model_dump(exclude={"verified_by"}))
    async with conn.transaction():
        return await service.add_parental_consent(conn=conn, subject_id=subject_id,
                                                  body=create, actor=actor)
