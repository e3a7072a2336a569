"""Multi-step work on people that emits events: registration checks, rectification, O6 erasure."""

from __future__ import annotations

import uuid

import asyncpg

from privacy_kit.holds import refuse_if_held
from privacy_kit.outbox import emit
from privacy_kit.preconditions import check_if_match
from privacy_kit.protocol import SubjectErasureRequested, SubjectRectified
from training_records.access import not_found
from training_records.participants import service
from training_records.participants.models import (
    ParticipantCreate,
    ParticipantRead,
    ParticipantUpdate,
    ParticipantUpdated,
)
from training_records.sensitive import refuse_bsn
from training_records.tenants import service as tenants
from training_records.tenants.service import allows_special_data

SOURCE = "training-records"
# The categories a rectification writes: a legal hold on one of them (for the tenant) freezes it.
HELD_BY_RECTIFICATION = ("participant_profile", "career", "rectification_history")


async def special_data_allowed(*, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> bool:
    allowed = await allows_special_data(conn=conn, tenant_id=tenant_id)
    if allowed is None:
        raise not_found("tenant")
    return allowed


def check_input(body: ParticipantCreate, *, bsn_allowed: bool) -> None:
    """O5 then O6: no BSN without the agreement; no under-16 without parental consent."""
    refuse_bsn(body.model_dump(mode="json", exclude_none=True), allowed=bsn_allowed)
    if service.is_child_without_consent(body.birth_date, body.parental_consent):
        raise service.under_16_refusal()


async def register_participant(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, body: ParticipantCreate, actor: str
) -> ParticipantRead:
    await tenants.ensure_contract_active(conn=conn, tenant_id=tenant_id)
    check_input(body, bsn_allowed=await special_data_allowed(conn=conn, tenant_id=tenant_id))
    return await service.create(conn=conn, tenant_id=tenant_id, body=body, created_by=actor)


async def rectify_participant(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, participant_id: uuid.UUID,
    body: ParticipantUpdate, actor: str, if_match: str | None = None,
) -> ParticipantUpdated:
    """O24: keep the history, tell recipients which fields changed (names only), and ask for
    an erasure when the corrected birth date shows an under-16 without parental consent (O6)."""
    # O17: a legal hold on the person, their organisation, or the profile's categories
    # freezes the data it keeps (409 naming the hold, never its reason).
    await refuse_if_held(conn, subject_id=str(participant_id), tenant_id=str(tenant_id),
                         categories=HELD_BY_RECTIFICATION)
    bsn_allowed = await special_data_allowed(conn=conn, tenant_id=tenant_id)
    refuse_bsn(body.model_dump(mode="json", include=body.model_fields_set, exclude_none=True),
               allowed=bsn_allowed)
    row = await service.ensure_writable(conn=conn, tenant_id=tenant_id,
                                        participant_id=participant_id)
    check_if_match(if_match, service.etag(row))
    updated, changed = await service.rectify(conn=conn, row=row, body=body, actor=actor)
    erasure = False
    if changed:
        await emit(conn, SubjectRectified(fields=changed), source=SOURCE,
                   tenant_id=str(tenant_id), subject_id=str(participant_id))
        if "birth_date" in changed or "parental_consent" in changed:
            erasure = service.is_child_without_consent(updated.birth_date, updated.parental_consent)
        if erasure:
            await request_erasure_of_child(conn=conn, tenant_id=tenant_id, subject_id=participant_id)
    return ParticipantUpdated(**updated.model_dump(), changed_fields=changed,
                              erasure_requested=erasure)


async def request_erasure_of_child(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, subject_id: uuid.UUID
) -> None:
    await emit(
        conn,
        SubjectErasureRequested(reason="under_16_without_parental_consent", trigger=SOURCE),
        source=SOURCE, tenant_id=str(tenant_id), subject_id=str(subject_id),
    )
