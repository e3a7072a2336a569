"""The register's shapes: the facts of a breach, its assessment, states and the timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from breach.clock import Instant, local
from breach.i18n import tr

NO_NAMES = (
    " Free text is kept as the controller's legal record and cannot be erased with a person: "
    "describe what happened without naming or identifying anyone."
)


class Nature(StrEnum):
    """Which security property was breached (the AP form's 'soort inbreuk')."""

    confidentiality = "confidentiality"
    integrity = "integrity"
    availability = "availability"


class State(StrEnum):
    reported = "reported"
    investigating = "investigating"
    contained = "contained"
    notified = "notified"
    closed = "closed"


class Risk(StrEnum):
    no_risk = "no_risk"
    risk = "risk"
    high_risk = "high_risk"


class Art34Exception(StrEnum):
    """GDPR Art. 34(3): when people need not be told despite a high risk."""

    unintelligible = "unintelligible"  # (a) encrypted or otherwise unintelligible to others
    risk_no_longer_likely = "risk_no_longer_likely"  # (b) later measures remove the high risk
    disproportionate_effort = "disproportionate_effort"  # (c) a public communication instead


PlatformRole = Literal["controller", "processor", "both"]
Text = Field(default="", max_length=20_000, description=NO_NAMES.strip())


class Reporter(BaseModel):
    """Who reported the breach. Kept in the register only: never in events or reports."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=300)
    email: str = Field(default="", max_length=320)
    phone: str = Field(default="", max_length=50)
    organisation: str = Field(default="", max_length=300)
    role: str = Field(default="", max_length=200)
    subject_id: str | None = Field(default=None, max_length=200,
                                   description="The reporter's own subject id, if they have one")
    tenant_id: str | None = Field(default=None, max_length=200)


class Facts(BaseModel):
    """Everything Art. 33(3) and (5) ask for. Free text must not name people."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300, description="A short name." + NO_NAMES)
    description: str = Field(default="", max_length=20_000,
                             description="What happened." + NO_NAMES)
    occurred_from: Instant | None = Field(
        default=None, description="When it happened, or the start of the window")
    occurred_until: Instant | None = Field(
        default=None, description="End of the window; omitted for one moment or while ongoing")
    discovered_at: Instant = Field(description="When it was discovered: the tenants' 24 h clock")
    aware_at: Instant | None = Field(
        default=None,
        description="When the platform became aware (reasonably certain): the AP's 72 h clock. "
                    "Defaults to discovered_at.")
    nature: list[Nature] = Field(default_factory=list, max_length=3)
    cause: str = Text
    data_categories: list[str] = Field(default_factory=list, max_length=50,
                                       description="Categories of personal data, e.g. contact, results")
    subject_categories: list[str] = Field(default_factory=list, max_length=50,
                                          description="Categories of people, e.g. participants, minors")
    approx_subjects: int | None = Field(default=None, ge=0, description="Approximate number of people")
    approx_records: int | None = Field(default=None, ge=0, description="Approximate number of records")
    unintelligible: bool = Field(default=False,
                                 description="Encrypted or otherwise unintelligible to whoever got it")
    unintelligible_how: str = Text
    consequences: str = Text
    measures_taken: str = Text
    measures_proposed: str = Text
    ongoing: bool = False
    platform_role: PlatformRole = Field(
        default="controller",
        description="The platform's role for the data concerned: as controller it reports to the "
                    "AP itself (72 h); as processor the tenants' 24 h notices are its duty")
    cross_border: bool = False
    member_states: list[str] = Field(default_factory=list, max_length=30,
                                     description="Other EU/EEA states whose residents are affected")

    @model_validator(mode="after")
    def _times_in_order(self) -> Facts:
        check_order(self.model_dump())
        return self


def check_order(facts: dict[str, Any]) -> None:
    """The recorded times must tell a possible story."""
    start, end = facts.get("occurred_from"), facts.get("occurred_until")
    discovered, aware = facts.get("discovered_at"), facts.get("aware_at")
    if start and end and end < start:
        raise ValueError(tr("occurred_until lies before occurred_from"))
    if start and discovered and discovered < start:
        raise ValueError(tr("discovered_at lies before the breach began (occurred_from)"))
    if aware and discovered and aware < discovered:
        raise ValueError(tr("aware_at lies before discovered_at"))


class FactsUpdate(BaseModel):
    """A follow-up report: the facts that changed or became known. Free text must not name people."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "approx_records": 1200, "ongoing": False,
        "measures_taken": "The shared link was revoked; access logs show two downloads.",
        "note": "Second phase: scope confirmed with the hosting provider."}]})

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    occurred_from: Instant | None = None
    occurred_until: Instant | None = None
    discovered_at: Instant | None = None
    aware_at: Instant | None = None
    nature: list[Nature] | None = Field(default=None, max_length=3)
    cause: str | None = Field(default=None, max_length=20_000)
    data_categories: list[str] | None = Field(default=None, max_length=50)
    subject_categories: list[str] | None = Field(default=None, max_length=50)
    approx_subjects: int | None = Field(default=None, ge=0)
    approx_records: int | None = Field(default=None, ge=0)
    unintelligible: bool | None = None
    unintelligible_how: str | None = Field(default=None, max_length=20_000)
    consequences: str | None = Field(default=None, max_length=20_000)
    measures_taken: str | None = Field(default=None, max_length=20_000)
    measures_proposed: str | None = Field(default=None, max_length=20_000)
    ongoing: bool | None = None
    platform_role: PlatformRole | None = None
    cross_border: bool | None = None
    member_states: list[str] | None = Field(default=None, max_length=30)
    note: str = Field(default="", max_length=20_000, description="Why or what changed." + NO_NAMES)

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude_unset=True).items()
                if k != "note" and v is not None}


REGISTER_EXAMPLE: dict[str, Any] = {
    "title": "Results export sent to the wrong client organisation",
    "description": "A results export of one course was e-mailed to a coordinator of "
    "another client organisation.",
    "occurred_from": "2026-03-27T16:05:00+01:00",
    "discovered_at": "2026-03-28T09:30:00+01:00",
    "aware_at": "2026-03-28T10:15:00+01:00",
    "nature": ["confidentiality"],
    "cause": "Wrong recipient picked from the address book.",
    "data_categories": ["name", "e-mail address", "training results"],
    "subject_categories": ["participants"],
    "approx_subjects": 12, "approx_records": 12,
    "unintelligible": False,
    "consequences": "Scores seen by one outside coordinator; embarrassment, no financial harm.",
    "measures_taken": "Recipient confirmed deletion in writing.",
    "measures_proposed": "Exports to outside addresses now need a second check.",
    "ongoing": False,
    "platform_role": "processor",
    "reporter": {"name": "Support desk", "email": "support@example.org"},
    "affected_subject_ids": ["5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10"],
    "affected_tenant_ids": [],
}


class BreachCreate(Facts):
    """The initial report (O26). Affected tenants follow from the subject ids (O27)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [REGISTER_EXAMPLE]})

    reporter: Reporter | None = None
    affected_subject_ids: list[str] = Field(
        default_factory=list, max_length=200_000,
        description="Pseudonymous ids of affected people; their tenants are looked up")
    affected_tenant_ids: list[str] = Field(
        default_factory=list, max_length=5_000,
        description="Tenants named directly: all their participants may be affected")


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "risk": "high_risk",
        "reasoning": "Results and e-mail addresses of minors were readable by outsiders; "
                     "no encryption; phishing is likely.",
    }]})

    risk: Risk
    reasoning: str = Field(min_length=1, max_length=20_000, description="Why." + NO_NAMES)
    art34_exception: Art34Exception | None = Field(
        default=None, description="Only with high_risk: why people need not be told (Art. 34(3))")
    art34_exception_reason: str = Field(default="", max_length=20_000)

    @model_validator(mode="after")
    def _exception_needs_reason(self) -> AssessmentCreate:
        if self.art34_exception is not None:
            if self.risk != Risk.high_risk:
                raise ValueError(tr("an Art. 34(3) exception applies only to a high risk"))
            if not self.art34_exception_reason.strip():
                raise ValueError(tr("an Art. 34(3) exception needs its reason (art34_exception_reason)"))
        return self


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "to": "contained", "note": "Link revoked; no further access possible."}]})

    to: State
    note: str = Field(default="", max_length=20_000, description=NO_NAMES.strip())


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "text": "Hosting provider confirmed the bucket was private again at 11:40."}]})

    text: str = Field(min_length=1, max_length=20_000, description=NO_NAMES.strip())


class SubjectsAdd(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "subject_ids": ["5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10"], "tenant_ids": []}]})

    subject_ids: list[str] = Field(default_factory=list, max_length=200_000)
    tenant_ids: list[str] = Field(default_factory=list, max_length=5_000)


class Assessment(BaseModel):
    risk: Risk
    reasoning: str
    art34_exception: Art34Exception | None = None
    art34_exception_reason: str = ""
    assessed_at: datetime
    assessed_by: str


class NoticeCounts(BaseModel):
    total: int
    notified: int
    due_soon: int
    overdue: int


class AuthorityClock(BaseModel):
    required: bool
    due_at: datetime
    reported_at: datetime | None
    status: Literal["not_required", "open", "due_soon", "overdue", "reported", "reported_late"]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def due_at_amsterdam(self) -> datetime | None:
        return local(self.due_at)


class BreachRead(BaseModel):
    """A breach as the DPO sees it: the current view of its timeline."""

    id: uuid.UUID
    state: State
    facts: Facts
    reporter: Reporter | None
    registered_at: datetime
    registered_by: str
    updated_at: datetime
    assessment: Assessment | None
    authority: AuthorityClock
    people_notice_required: bool
    affected_subjects: int = Field(description="People known to be affected (kept after erasure)")
    unknown_subjects: int = Field(description="Subject ids no store knows")
    pending_subjects: int = Field(description="Subject ids not yet looked up")
    people_notified: int
    people_without_contact: int
    tenant_notices: NoticeCounts

    @computed_field  # type: ignore[prop-decorator]
    @property
    def discovered_at_amsterdam(self) -> datetime | None:
        return local(self.facts.discovered_at)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def aware_at_amsterdam(self) -> datetime | None:
        return local(self.facts.aware_at)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def occurred_from_amsterdam(self) -> datetime | None:
        return local(self.facts.occurred_from)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def occurred_until_amsterdam(self) -> datetime | None:
        return local(self.facts.occurred_until)


class BreachSummary(BaseModel):
    id: uuid.UUID
    title: str
    state: State
    risk: Risk | None
    discovered_at: datetime
    registered_at: datetime
    affected_subjects: int
    tenants: int
    overdue: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def discovered_at_amsterdam(self) -> datetime | None:
        return local(self.discovered_at)


class TimelineEntry(BaseModel):
    id: int
    kind: str
    actor: str
    actor_roles: list[str]
    at: datetime
    data: dict[str, Any]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def at_amsterdam(self) -> datetime | None:
        return local(self.at)


class SubjectsAdded(BaseModel):
    added: int = Field(description="Newly recorded subject ids")
    unknown: int = Field(description="Of those, ids no store knows")
    pending: int = Field(description="Of those, not yet looked up: training-records unreachable")
    tenants_opened: int
    tenants_updated: int


class AffectedSubject(BaseModel):
    subject_id: str
    tenant_id: str | None
    lookup: Literal["found", "unknown", "pending"]
    added_at: datetime


class Deadline(BaseModel):
    """A notice due within the warning window, or overdue (listed for the DPO)."""

    kind: Literal["tenant", "authority"]
    breach_id: uuid.UUID
    title: str
    notice_id: uuid.UUID | None
    tenant_id: str | None
    due_at: datetime
    status: Literal["due_soon", "overdue"]
    minutes_left: int = Field(description="Negative once overdue")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def due_at_amsterdam(self) -> datetime | None:
        return local(self.due_at)
