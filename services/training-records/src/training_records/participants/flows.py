"""Multi-step work on people that emits events: registration checks, rectification, O6 erasure."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from privacy_kit.guards import Finding, check, is_under_16, record_findings
from privacy_kit.holds import refuse_if_held
from privacy_kit.outbox import emit
from privacy_kit.preconditions import check_if_match
from privacy_kit.protocol import SubjectErasureRequested, SubjectRectified
from training_records import parental
from training_records.access import not_found
from training_records.participants import service
from training_records.participants.models import (
    ParentalConsent,
    ParticipantCreate,
    ParticipantRead,
    ParticipantUpdate,
    ParticipantUpdated,
)
from training_records.settings import Settings
from training_records.tenants import service as tenants
from training_records.tenants.service import agreement_in_force, allows_special_data

SOURCE = "training-records"
# The categories a rectification writes: a legal hold on one of them (for the tenant) freezes it.
HELD_BY_RECTIFICATION = ("participant_profile", "career", "rectification_history")


async def special_data_allowed(*, conn: asyncpg.Connection, tenant_id: uuid.UUID) -> bool:
    allowed = await allows_special_data(conn=conn, tenant_id=tenant_id)
    if allowed is None:
        raise not_found("tenant")
    return allowed


async def screen_input(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, value: Any
) -> tuple[list[Finding], uuid.UUID | None]:
    """O5: refuse a BSN or special-category data unless the tenant has the agreement; with it,
    the findings to record once the record exists."""
    if not await special_data_allowed(conn=conn, tenant_id=tenant_id):
        check(value, allowed=False)
        return [], None
    agreement = await agreement_in_force(conn=conn, tenant_id=tenant_id)
    return check(value, allowed=True), agreement


def check_input(body: ParticipantCreate) -> None:
    """O6: no under-16 without parental consent, and no consent verified before birth."""
    if service.is_child_without_consent(body.birth_date, body.parental_consent):
        raise service.under_16_refusal()
    check_consent_date(body.birth_date, body.parental_consent)


def check_consent_date(birth_date: date | None, consent: ParentalConsent | None) -> None:
    if birth_date is not None and consent is not None and consent.verified_at < birth_date:
        raise service.consent_before_birth_refusal()


async def register_participant(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, body: ParticipantCreate, actor: str,
    settings: Settings,
) -> ParticipantRead:
    await tenants.ensure_contract_active(conn=conn, tenant_id=tenant_id)
    findings, agreement = await screen_input(
        conn=conn, tenant_id=tenant_id, value=body.model_dump(mode="json", exclude_none=True))
    check_input(body)
    consent = body.parental_consent
    child = body.birth_date is not None and is_under_16(body.birth_date)
    created = await service.create(conn=conn, tenant_id=tenant_id, created_by=actor,
                                   body=body.model_copy(update={"parental_consent": None}))
    await record_findings(conn, findings, record_kind="participant", record_id=created.id,
                          tenant_id=tenant_id, subject_id=created.id, agreement_id=agreement)
    if consent is None or not child:
        return created  # an adult needs no parental consent: nothing of it is kept
    # Last, so that a refusal above never leaves a record in consent.
    recorded = await parental.record(settings, subject_id=created.id, consent=consent,
                                     verified_by=actor)
    row = await service.get_row(conn=conn, tenant_id=tenant_id, participant_id=created.id)
    await service.set_parental_consent(conn=conn, row=row, reference=parental.reference(recorded),
                                       actor=actor)
    return created.model_copy(update={"parental_consent": recorded})


async def rectify_participant(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, participant_id: uuid.UUID,
    body: ParticipantUpdate, actor: str, settings: Settings, if_match: str | None = None,
) -> ParticipantUpdated:
    """O24: keep the history, tell recipients which fields changed (names only), and ask for
    an erasure when the corrected birth date shows an under-16 without parental consent (O6)."""
    # O17: a legal hold on the person, their organisation, or the profile's categories
    # freezes the data it keeps (409 naming the hold, never its reason).
    await refuse_if_held(conn, subject_id=str(participant_id), tenant_id=str(tenant_id),
                         categories=HELD_BY_RECTIFICATION)
    findings, agreement = await screen_input(
        conn=conn, tenant_id=tenant_id,
        value=body.model_dump(mode="json", include=body.model_fields_set, exclude_none=True))
    row = await service.ensure_writable(conn=conn, tenant_id=tenant_id,
                                        participant_id=participant_id)
    check_if_match(if_match, service.etag(row))
    consent = body.parental_consent if "parental_consent" in body.model_fields_set else None
    check_consent_date(body.birth_date or row["birth_date"], consent)
    # A new consent is recorded in consent below; a removed one (null) is an ordinary change.
    fields = body.model_fields_set - ({"parental_consent"} if consent is not None else set())
    profile = ParticipantUpdate(**{f: getattr(body, f) for f in fields})
    updated, changed = await service.rectify(conn=conn, row=row, body=profile, actor=actor)
    await record_findings(conn, findings, record_kind="participant", record_id=participant_id,
                          tenant_id=tenant_id, subject_id=participant_id, agreement_id=agreement)
    if consent is not None and updated.birth_date and is_under_16(updated.birth_date):
        recorded = await parental.record(settings, subject_id=participant_id, consent=consent,
                                         verified_by=actor)
        current = await service.get_row(conn=conn, tenant_id=tenant_id,
                                        participant_id=participant_id)
        await service.set_parental_consent(conn=conn, row=current,
                                           reference=parental.reference(recorded), actor=actor)
        updated = updated.model_copy(update={"parental_consent": recorded})
        changed = [*changed, "parental_consent"]
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
