"""The authority's clock and report (O28): 72 h after awareness unless assessed as no risk."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from breach import timeline
from breach.authority.models import (
    AuthorityNotificationCreate,
    AuthorityReport,
    ClientOrganisationsPart,
    CrossBorderPart,
    DataPart,
    MeasuresPart,
    NaturePart,
    NotificationPart,
    Organisation,
    PeopleInformedPart,
    PeoplePart,
    Person,
    ProtectionPart,
    RecordsPart,
    RiskPart,
    Submission,
    TimelinePart,
)
from breach.i18n import tr
from breach.register.models import Assessment, Facts, Nature
from breach.register.service import authority_status, lock
from breach.settings import Settings
from breach.timeline import Actor, from_jsonb
from privacy_kit.errors import ApiError
from privacy_kit.outbox import emit
from privacy_kit.protocol import BreachAuthorityNotified


async def record_submission(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, body: AuthorityNotificationCreate,
    actor: Actor, now: datetime, settings: Settings,
) -> None:
    row = await lock(conn, breach_id)
    earlier = await conn.fetchval(
        "SELECT count(*) FROM breach_authority_notification WHERE breach_id = $1", breach_id)
    if body.phase == "initial" and earlier:
        raise ApiError(409, "already_reported",
                       tr("The initial report is recorded; record further ones as follow_up."))
    if body.phase == "follow_up" and not earlier:
        raise ApiError(409, "no_initial_report", tr("Record the initial report first."))
    late = body.phase == "initial" and body.submitted_at > row["authority_due_at"]
    if late and not (body.delay_reason or "").strip():
        raise ApiError(
            422, "delay_reason_required",
            tr("This report comes after the 72 hours (due {due}): give the reasons for the "
               "delay (delay_reason, GDPR Art. 33(1)).", due=row["authority_due_at"].isoformat()))
    await conn.execute(
        """INSERT INTO breach_authority_notification
               (id, breach_id, phase, submitted_at, reference, delay_reason, recorded_by, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        uuid.uuid4(), breach_id, body.phase, body.submitted_at, body.reference, body.delay_reason,
        actor.sub, now,
    )
    if body.phase == "initial":
        await conn.execute(
            "UPDATE breach SET authority_reported_at = $2, updated_at = $3 WHERE id = $1",
            breach_id, body.submitted_at, now)
    await timeline.append(
        conn, breach_id=breach_id, kind="authority_notified", actor=actor, at=now,
        data={"phase": body.phase, "submitted_at": body.submitted_at.isoformat(),
              "reference": body.reference, "late": late, "delay_reason": body.delay_reason},
    )
    await emit(conn, BreachAuthorityNotified(breach_id=breach_id, phase=body.phase, late=late),
               source=settings.service_name, key=str(breach_id))


def _missing(facts: Facts, assessment: Assessment | None, settings: Settings) -> list[str]:
    checks = {
        "nature (confidentiality, integrity, availability)": bool(facts.nature),
        "description of what happened": bool(facts.description.strip()),
        "categories of personal data": bool(facts.data_categories),
        "categories of people": bool(facts.subject_categories),
        "approximate number of people": facts.approx_subjects is not None,
        "approximate number of records": facts.approx_records is not None,
        "likely consequences": bool(facts.consequences.strip()),
        "measures taken": bool(facts.measures_taken.strip()),
        "risk assessment": assessment is not None,
        "contact of the data protection officer (DPO_NAME, DPO_EMAIL)":
            bool(settings.dpo_name and settings.dpo_email),
        "chamber of commerce number (ORGANISATION_COC_NUMBER)": bool(settings.organisation_coc_number),
    }
    return [what for what, known in checks.items() if not known]


async def report(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, now: datetime, settings: Settings,
) -> AuthorityReport | None:
    row = await conn.fetchrow("SELECT * FROM breach WHERE id = $1", breach_id)
    if row is None:
        return None
    facts = Facts.model_validate(from_jsonb(row["facts"]))
    raw = from_jsonb(row["assessment"])
    assessment = Assessment.model_validate(raw) if raw else None
    submissions = await conn.fetch(
        """SELECT phase, submitted_at, reference, delay_reason FROM breach_authority_notification
           WHERE breach_id = $1 ORDER BY submitted_at""", breach_id)
    people = await conn.fetchrow(
        """SELECT min(notified_at) AS first, max(notified_at) AS last
           FROM breach_people_notice WHERE breach_id = $1""", breach_id)
    tenants = await conn.fetchrow(
        """SELECT count(*) AS affected, count(notified_at) AS notified,
                  count(*) FILTER (WHERE notified_at > due_at) AS notified_late
           FROM breach_tenant_notification WHERE breach_id = $1""", breach_id)
    due = row["authority_due_at"]
    initial = next((s for s in submissions if s["phase"] == "initial"), None)
    previous = next((s["reference"] for s in reversed(submissions) if s["reference"]), None)
    dpo = Person(name=settings.dpo_name, role="data protection officer (functionaris "
                 "gegevensbescherming)", email=settings.dpo_email, phone=settings.dpo_phone)
    status = authority_status(row, now, timedelta(hours=settings.due_soon_hours))
    return AuthorityReport(
        breach_id=breach_id, generated_at=now,
        organisation=Organisation(
            name=settings.organisation_name,
            chamber_of_commerce_number=settings.organisation_coc_number,
            address=settings.organisation_address, sector=settings.organisation_sector,
            contact=dpo, data_protection_officer=dpo),
        notification=NotificationPart(
            required=row["authority_required"], type="follow_up" if submissions else "new",
            previous_reference=previous,
            submissions=[Submission(phase=s["phase"], submitted_at=s["submitted_at"],
                                    reference=s["reference"],
                                    late=s["phase"] == "initial" and s["submitted_at"] > due,
                                    delay_reason=s["delay_reason"]) for s in submissions],
            status=status),
        summary=f"{facts.title}. {facts.description}".strip(),
        timeline=TimelinePart(
            occurred_from=facts.occurred_from, occurred_until=facts.occurred_until,
            ongoing=facts.ongoing, discovered_at=facts.discovered_at,
            aware_at=facts.aware_at or facts.discovered_at, registered_at=row["registered_at"],
            report_due_at=due, reported_at=row["authority_reported_at"],
            late=status in ("overdue", "reported_late"),
            delay_reason=initial["delay_reason"] if initial else None),
        nature=NaturePart(
            confidentiality=Nature.confidentiality in facts.nature,
            integrity=Nature.integrity in facts.nature,
            availability=Nature.availability in facts.nature,
            description=facts.description, cause=facts.cause),
        people=PeoplePart(categories=facts.subject_categories, approximate_number=facts.approx_subjects,
                          known_affected=row["affected_subjects"], unknown_ids=row["unknown_subjects"]),
        personal_data=DataPart(categories=facts.data_categories),
        records=RecordsPart(approximate_number=facts.approx_records),
        protection=ProtectionPart(encrypted_or_unintelligible=facts.unintelligible,
                                  how=facts.unintelligible_how),
        consequences=facts.consequences,
        measures=MeasuresPart(taken=facts.measures_taken, proposed=facts.measures_proposed),
        risk=RiskPart(level=assessment.risk if assessment else None,
                      reasoning=assessment.reasoning if assessment else "",
                      assessed_at=assessment.assessed_at if assessment else None),
        people_informed=PeopleInformedPart(
            required=row["people_notice_required"], informed=row["people_notified"] > 0,
            informed_count=row["people_notified"], without_contact=row["people_without_contact"],
            first_informed_at=people["first"], last_informed_at=people["last"],
            how="individual e-mail through the platform" if row["people_notified"] else "",
            exception=assessment.art34_exception if assessment else None,
            exception_reason=assessment.art34_exception_reason if assessment else ""),
        cross_border=CrossBorderPart(cross_border=facts.cross_border,
                                     member_states=facts.member_states),
        client_organisations=ClientOrganisationsPart(**dict(tenants)),
        missing=_missing(facts, assessment, settings),
    )
