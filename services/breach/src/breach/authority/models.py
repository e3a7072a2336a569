"""The report to the Autoriteit Persoonsgegevens (O28), shaped after its notification form.

The AP's online form ("Meldformulier datalekken") asks, in order: who reports (organisation,
contact, DPO), whether this is a new report or a follow-up, a summary, when it happened and was
discovered, what kind of breach, how many people and which kinds, which data, whether it was
encrypted, the likely consequences, the measures, whether people were told (how, or why not),
and international aspects. Each section below is one of those.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from breach.clock import IncidentTimes, Instant, local
from breach.register.models import Art34Exception, Risk


class AuthorityNotificationCreate(BaseModel):
    """Record that the report was submitted to the AP (the form itself is filled in there)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "phase": "initial", "submitted_at": "2026-03-29T15:00:00+02:00",
        "reference": "AP-2026-012345"}]})

    phase: Literal["initial", "follow_up"]
    submitted_at: Instant
    reference: str = Field(default="", max_length=200, description="The AP's case number")
    delay_reason: str | None = Field(
        default=None, max_length=5_000,
        description="Required for an initial report after the 72 h (Art. 33(1))")


class Person(BaseModel):
    name: str
    role: str
    email: str
    phone: str


class Organisation(BaseModel):
    name: str
    chamber_of_commerce_number: str
    address: str
    sector: str
    contact: Person
    data_protection_officer: Person


class Submission(BaseModel):
    phase: Literal["initial", "follow_up"]
    submitted_at: datetime
    reference: str
    late: bool
    delay_reason: str | None


class NotificationPart(BaseModel):
    required: bool = Field(description="False when assessed as no risk or the platform is processor")
    type: Literal["new", "follow_up"] = Field(description="What to choose on the form now")
    previous_reference: str | None
    submissions: list[Submission]
    status: str


class TimelinePart(IncidentTimes):
    occurred_from: datetime | None
    occurred_until: datetime | None
    ongoing: bool
    discovered_at: datetime
    aware_at: datetime
    registered_at: datetime
    report_due_at: datetime
    reported_at: datetime | None
    late: bool
    delay_reason: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def report_due_at_amsterdam(self) -> datetime | None:
        return local(self.report_due_at)


class NaturePart(BaseModel):
    confidentiality: bool = Field(description="Read or copied by someone not entitled (leaked)")
    integrity: bool = Field(description="Changed without authority")
    availability: bool = Field(description="Lost or destroyed, or inaccessible")
    description: str
    cause: str


class PeoplePart(BaseModel):
    categories: list[str]
    approximate_number: int | None
    known_affected: int = Field(description="Affected people identified in the register")
    unknown_ids: int


class RecordsPart(BaseModel):
    approximate_number: int | None


class DataPart(BaseModel):
    categories: list[str]


class ProtectionPart(BaseModel):
    encrypted_or_unintelligible: bool
    how: str


class MeasuresPart(BaseModel):
    taken: str
    proposed: str


class RiskPart(BaseModel):
    level: Risk | None
    reasoning: str
    assessed_at: datetime | None


class PeopleInformedPart(BaseModel):
    required: bool
    informed: bool
    informed_count: int
    without_contact: int
    first_informed_at: datetime | None
    last_informed_at: datetime | None
    how: str
    exception: Art34Exception | None
    exception_reason: str


class CrossBorderPart(BaseModel):
    cross_border: bool
    member_states: list[str]


class ClientOrganisationsPart(BaseModel):
    """The platform as processor told each affected client organisation (O27)."""

    affected: int
    notified: int
    notified_late: int


class AuthorityReport(BaseModel):
    breach_id: uuid.UUID
    generated_at: datetime
    organisation: Organisation
    notification: NotificationPart
    summary: str
    timeline: TimelinePart
    nature: NaturePart
    people: PeoplePart
    personal_data: DataPart
    records: RecordsPart
    protection: ProtectionPart
    consequences: str
    measures: MeasuresPart
    risk: RiskPart
    people_informed: PeopleInformedPart
    cross_border: CrossBorderPart
    client_organisations: ClientOrganisationsPart
    missing: list[str] = Field(description="Questions of the form the register cannot answer yet")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def generated_at_amsterdam(self) -> datetime | None:
        return local(self.generated_at)
