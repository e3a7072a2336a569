"""The privacy protocol: every event type, its topic, its version and its typed payload.

Producers build an event from its payload model (`outbox.emit(conn, ConsentChanged(...), ...)`);
consumers receive it parsed back into the same model (`consumer.on(ConsentChanged, handler)`).
The JSON Schema of each event is generated from these models into `docs/events/` and checked
in CI (`python -m privacy_kit.protocol --check docs/events`), so the catalogue cannot drift.

Payloads carry pseudonymous ids, counts, categories and field names only: never names,
e-mail addresses or free text, because a Kafka log cannot be erased.

Versioning: `VERSION` is the payload's major version. Adding an optional field keeps it (old
consumers ignore fields they do not know); removing or changing a field raises it, and a
consumer dead-letters an event whose major version it does not read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from privacy_kit.events import Envelope, Topic


class ProtocolError(Exception):
    """An event that does not fit its model: wrong type, unknown major version, bad payload."""


class Payload(BaseModel):
    """Base of every event payload. Subclasses set TYPE and TOPIC; they register themselves."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    TYPE: ClassVar[str]
    TOPIC: ClassVar[str]
    VERSION: ClassVar[int] = 1
    # The envelope field this event is about, required on the wire (None: neither is required).
    ABOUT: ClassVar[Literal["subject", "tenant"] | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__:
            if cls.TYPE in EVENTS:
                raise TypeError(f"event type {cls.TYPE} is defined twice")
            EVENTS[cls.TYPE] = cls


EVENTS: dict[str, type[Payload]] = {}

P = TypeVar("P", bound=Payload)


# --- Shared parts -------------------------------------------------------------------------


# What starts a retention term's clock (O15):
# record_created   the record's own creation time;
# last_activity    the newest use of the record (e.g. a login, a progress update);
# request_handled  the moment a request or form was handled;
# account_closed   the closing of the person's account (the data lives while the account exists);
# contract_ended   the end of the client organisation's contract (O18).
RetentionClock = Literal[
    "record_created", "last_activity", "request_handled", "account_closed", "contract_ended"
]
# What happens when the term ends (O16): destroy, or anonymise (keep only what identifies nobody;
# for people who opted out of anonymised retention, O13, the store destroys instead).
RetentionAction = Literal["destroy", "anonymise"]

# ISO-8601 durations in whole numbers: P7Y, P180D, P6M, P2W, PT12H, P0D.
ISO_DURATION = r"^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$"


class RetentionRule(BaseModel):
    """How long a category is kept: a period, the event that starts it, and what happens then."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period: str = Field(pattern=ISO_DURATION, description="ISO-8601 duration, e.g. P180D or P7Y",
                        examples=["P180D"])
    clock: RetentionClock
    action: RetentionAction = "destroy"

    @field_validator("period")
    @classmethod
    def _names_a_length(cls, period: str) -> str:
        if period in ("P", "PT") or period.endswith("T"):
            raise ValueError("an ISO-8601 duration names at least one number, e.g. P0D or P180D")
        return period


class DataCategory(BaseModel):
    """One category of data a store holds, as the record of processing (Art. 30) needs it."""

    model_config = ConfigDict(frozen=True)

    name: str
    fields: list[str]
    purpose: str
    legal_basis: str
    # The store's default retention rule (O15); None: the category still needs one.
    retention: RetentionRule | None = None
    # The same rule in words, for people reading the register.
    retention_rule: str = ""
    recipients: list[str] = []
    personal: bool = True
    # Art. 30: whose data this is (participants, Beheerders, website visitors, ...).
    data_subjects: list[str] = []
    # The platform's role for this data: processor for a client organisation (O1), or controller.
    role: Literal["processor", "controller"] = "processor"
    # Where the data lives when not in the declaring store's database (an identity provider,
    # a payment provider, logs): declared so the register is complete (O4).
    held_by: str | None = None


class ErasureScope(BaseModel):
    """What to destroy: one subject, one tenant, or one category whose term has ended."""

    kind: Literal["subject", "tenant", "category"]
    subject_id: str | None = None
    tenant_id: str | None = None
    category: str | None = None
    # Category scope: records whose clock started before this cut-off (the store's own timestamps).
    older_than: datetime | None = None
    # Category scope: which clock the rule counts from (None: the store's own default).
    clock: RetentionClock | None = None
    # Destroy, or anonymise where the store can (and destroy for people who opted out, O13).
    action: RetentionAction = "destroy"
    # Subjects under legal hold (O17): never erased by a tenant or category scope.
    held_subject_ids: list[str] = []
    # Category scope: tenants with a hold on this category (or on all their data).
    held_tenant_ids: list[str] = []
    # Tenant scope: categories of this tenant under a hold.
    held_categories: list[str] = []

    def without_holds(self) -> ErasureScope:
        return self.model_copy(update={"held_subject_ids": [], "held_tenant_ids": [],
                                       "held_categories": []})

    @property
    def has_holds(self) -> bool:
        return bool(self.held_subject_ids or self.held_tenant_ids or self.held_categories)


# --- privacy.inventory --------------------------------------------------------------------


class InventoryPublished(Payload):
    """A store declares what it holds (its privacy-provider inventory), at start-up."""

    TYPE = "inventory.published"
    TOPIC = Topic.INVENTORY

    store: str
    categories: list[DataCategory]


# --- privacy.erasure ----------------------------------------------------------------------


class ErasureRequested(Payload):
    """Retention asks the named stores to erase within a scope."""

    TYPE = "erasure.requested"
    TOPIC = Topic.ERASURE

    job_id: uuid.UUID
    scope: ErasureScope
    stores: list[str]
    deadline_at: datetime


class ErasureCompleted(Payload):
    """One store's answer to an erasure request, with its counts per category."""

    TYPE = "erasure.completed"
    TOPIC = Topic.ERASURE

    job_id: uuid.UUID
    store: str
    counts: dict[str, int]
    erased: int = Field(ge=0)
    # What the scope held but a legal hold kept (O17), per category.
    held: dict[str, int] = {}


class ErasureJobCompleted(Payload):
    """Every store has answered; the job's certificate is issued."""

    TYPE = "erasure.job_completed"
    TOPIC = Topic.ERASURE

    job_id: uuid.UUID
    stores: list[str]
    erased: int = Field(ge=0)


# --- privacy.erasure: legal holds ---------------------------------------------------------


class LegalHoldPlaced(Payload):
    """Retention placed a legal hold (O17) on a subject, a tenant, or one category of a tenant;
    the envelope's `subject_id` / `tenant_id` say whose data. Every store keeps a copy, so it
    can refuse to rectify held data (409) without asking retention. Never the free-text reason
    or reference: only the hold's id, its ground and the category."""

    TYPE = "legal_hold.placed"
    TOPIC = Topic.ERASURE

    hold_id: uuid.UUID
    ground: str = Field(description="The lawful ground code, e.g. legal_claims")
    category: str | None = Field(default=None, description="Only this category of the tenant")


class LegalHoldReleased(Payload):
    """A legal hold was released: stores drop their copy and rectification is open again."""

    TYPE = "legal_hold.released"
    TOPIC = Topic.ERASURE

    hold_id: uuid.UUID


# --- privacy.erasure: retention sweeps -----------------------------------------------------


class RetentionCountRequested(Payload):
    """A sweep's dry run: each named store counts what each category scope would remove (O15)."""

    TYPE = "retention.count_requested"
    TOPIC = Topic.ERASURE

    sweep_id: uuid.UUID
    # Per store, the category scopes to count (cut-off, clock, action and holds each).
    scopes: dict[str, list[ErasureScope]]


class RetentionCounted(Payload):
    """One store's dry-run answer: per category, how many records would go; absent = not swept."""

    TYPE = "retention.counted"
    TOPIC = Topic.ERASURE

    sweep_id: uuid.UUID
    store: str
    counts: dict[str, int]


# --- privacy.tenant -----------------------------------------------------------------------


class ContractTerminated(Payload):
    """A client organisation's contract has ended (O18): its people and training data may no
    longer grow; everything of the tenant is erased after the grace period."""

    TYPE = "tenant.contract_terminated"
    TOPIC = Topic.TENANT
    ABOUT = "tenant"

    termination_id: uuid.UUID
    end_date: date = Field(description="The contract's last day")
    erase_after: datetime = Field(description="When the tenant is erased everywhere, unless a "
                                  "legal hold keeps it")


# --- privacy.subject ----------------------------------------------------------------------


class SubjectErasureRequested(Payload):
    """A service asks retention for a subject erasure (e.g. an under-16 found without consent)."""

    TYPE = "subject.erasure_requested"
    TOPIC = Topic.SUBJECT
    ABOUT = "subject"

    reason: str = Field(description="A reason code, e.g. under_16_without_parental_consent")
    trigger: str


class SubjectRestricted(Payload):
    """Stop all processing of the subject but storage (O19)."""

    TYPE = "subject.restricted"
    TOPIC = Topic.SUBJECT
    ABOUT = "subject"


class SubjectRestrictionLifted(Payload):
    TYPE = "subject.restriction_lifted"
    TOPIC = Topic.SUBJECT
    ABOUT = "subject"


class SubjectRectified(Payload):
    """Fields of a subject were corrected (O24): names of the fields only, never values."""

    TYPE = "subject.rectified"
    TOPIC = Topic.SUBJECT
    ABOUT = "subject"

    fields: list[str]


class SubjectObjected(Payload):
    """The subject objects to processing (Art. 21): stores restrict pending the controller's
    assessment (Art. 18(1)(d)) and confirm (O19)."""

    TYPE = "subject.objected"
    TOPIC = Topic.SUBJECT
    ABOUT = "subject"


class SubjectRestrictionConfirmed(Payload):
    """One store has applied a restriction, an objection or a lift for the subject (O19).
    The envelope's correlation id is the one of the event that asked for it."""

    TYPE = "subject.restriction_confirmed"
    TOPIC = Topic.SUBJECT
    ABOUT = "subject"

    store: str
    cause: Literal["restricted", "objected", "lifted"]
    restricted: bool


# --- privacy.subject: subject request cases (subject-rights) ---------------------------------


class SubjectRequestReceived(Payload):
    TYPE = "subject_request.received"
    TOPIC = Topic.SUBJECT
    ABOUT = "subject"

    request_id: uuid.UUID
    kind: str


class SubjectRequestStatusChanged(Payload):
    """A case moved to a new state (O19-O23). Ids, kind and state only: never the details."""

    TYPE = "subject_request.status_changed"
    TOPIC = Topic.SUBJECT

    request_id: uuid.UUID
    kind: str
    status: str
    previous_status: str | None = None


class SubjectRequestDueSoon(Payload):
    """A case's term ends within the warning window (three days) and it is still open (O21)."""

    TYPE = "subject_request.due_soon"
    TOPIC = Topic.SUBJECT

    request_id: uuid.UUID
    kind: str
    due_at: datetime


class SubjectRequestOverdue(Payload):
    """A case's term has ended and it is still open (O21)."""

    TYPE = "subject_request.overdue"
    TOPIC = Topic.SUBJECT

    request_id: uuid.UUID
    kind: str
    due_at: datetime


# --- privacy.consent ----------------------------------------------------------------------


class ConsentChanged(Payload):
    """A new effective consent state of one subject for one purpose (O9, O11)."""

    TYPE = "consent.changed"
    TOPIC = Topic.CONSENT
    ABOUT = "subject"

    purpose: str
    granted: bool


class AnonymisationOptedOut(Payload):
    """The subject wants not even anonymised data kept (O13)."""

    TYPE = "anonymisation.opted_out"
    TOPIC = Topic.CONSENT
    ABOUT = "subject"


class PolicyPublished(Payload):
    """A new policy version with its changelog (O14)."""

    TYPE = "policy.published"
    TOPIC = Topic.CONSENT

    version: str
    effective_date: date
    materially_changed_purposes: list[str]
    announce: bool


# --- privacy.breach -----------------------------------------------------------------------


class BreachRegistered(Payload):
    """A breach entered the register (O26): counts only, never its facts or the people."""

    TYPE = "breach.registered"
    TOPIC = Topic.BREACH

    breach_id: uuid.UUID
    affected_subjects: int = Field(ge=0)
    tenants: int = Field(default=0, ge=0, description="Client organisations with a notice")
    unknown_subjects: int = Field(default=0, ge=0, description="Subject ids no store knows")


class BreachUpdated(Payload):
    """A follow-up report changed facts of a breach: the names of the facts only."""

    TYPE = "breach.updated"
    TOPIC = Topic.BREACH

    breach_id: uuid.UUID
    fields: list[str]


class BreachSubjectsAdded(Payload):
    """More affected people became known: counts only."""

    TYPE = "breach.subjects_added"
    TOPIC = Topic.BREACH

    breach_id: uuid.UUID
    added: int = Field(ge=0)
    unknown: int = Field(ge=0)
    pending: int = Field(ge=0, description="Not yet looked up (training-records unreachable)")
    tenants: int = Field(ge=0, description="Tenants whose count changed or that were added")


class BreachAssessed(Payload):
    """A risk assessment (GDPR Art. 33-34) was recorded; what it requires follows from it."""

    TYPE = "breach.assessed"
    TOPIC = Topic.BREACH

    breach_id: uuid.UUID
    risk: Literal["no_risk", "risk", "high_risk"]
    art34_exception: str | None = Field(default=None, description="An Art. 34(3) reason code")
    authority_report_required: bool
    people_notice_required: bool


class BreachStateChanged(Payload):
    TYPE = "breach.state_changed"
    TOPIC = Topic.BREACH

    breach_id: uuid.UUID
    from_state: str
    to_state: str


class BreachTenantNoticeOpened(Payload):
    """A client organisation (the envelope's tenant) has a breach notice, due 24 h on (O27)."""

    TYPE = "breach.tenant_notice_opened"
    TOPIC = Topic.BREACH
    ABOUT = "tenant"

    breach_id: uuid.UUID
    notice_id: uuid.UUID
    affected_subjects: int = Field(ge=0)
    all_participants_may_be_affected: bool = False
    due_at: datetime


class BreachTenantNoticeUpdated(Payload):
    """The tenant's count of affected people grew (subjects added later)."""

    TYPE = "breach.tenant_notice_updated"
    TOPIC = Topic.BREACH
    ABOUT = "tenant"

    breach_id: uuid.UUID
    notice_id: uuid.UUID
    affected_subjects: int = Field(ge=0)
    added: int = Field(ge=0)


class BreachTenantNotified(Payload):
    """The tenant's notice was delivered: acknowledged by a Beheerder or delivered by staff."""

    TYPE = "breach.tenant_notified"
    TOPIC = Topic.BREACH
    ABOUT = "tenant"

    breach_id: uuid.UUID
    notice_id: uuid.UUID
    via: str = Field(description="acknowledged, phone, e-mail, letter or other")
    late: bool


class BreachNoticeDueSoon(Payload):
    """A notice is due within the warning window (4 h) and not yet given; emitted once."""

    TYPE = "breach.notice_due_soon"
    TOPIC = Topic.BREACH

    breach_id: uuid.UUID
    notice: Literal["tenant", "authority"]
    notice_id: uuid.UUID | None = None
    due_at: datetime
    minutes_left: int = Field(ge=0)


class BreachNoticeOverdue(Payload):
    """A notice passed its due time without being given; emitted once."""

    TYPE = "breach.notice_overdue"
    TOPIC = Topic.BREACH

    breach_id: uuid.UUID
    notice: Literal["tenant", "authority"]
    notice_id: uuid.UUID | None = None
    due_at: datetime
    minutes_overdue: int = Field(ge=0)


class BreachAuthorityNotified(Payload):
    """The report to the Autoriteit Persoonsgegevens was submitted (initial or follow-up)."""

    TYPE = "breach.authority_notified"
    TOPIC = Topic.BREACH

    breach_id: uuid.UUID
    phase: Literal["initial", "follow_up"]
    late: bool


class BreachPeopleNotified(Payload):
    """Affected people were told (GDPR Art. 34): counts only."""

    TYPE = "breach.people_notified"
    TOPIC = Topic.BREACH

    breach_id: uuid.UUID
    notified: int = Field(ge=0)
    without_contact: int = Field(ge=0, description="Known people with no address to write to")


class DisclosureRecorded(Payload):
    """Data of the tenant (the envelope's tenant) was disclosed to an authority (O30)."""

    TYPE = "disclosure.recorded"
    TOPIC = Topic.BREACH
    ABOUT = "tenant"

    disclosure_id: uuid.UUID
    subjects: int = Field(ge=0)
    tenant_informed_beforehand: bool
    withheld_from_tenant: bool


# --- privacy.tenant -----------------------------------------------------------------------


class SubProcessorChanged(Payload):
    """A sub-processor was added, changed or removed: client organisations are told (O7)."""

    TYPE = "subprocessor.changed"
    TOPIC = Topic.TENANT

    sub_processor_id: uuid.UUID
    change: Literal["added", "changed", "removed"]
    location: str = Field(description="ISO 3166-1 alpha-2 country code")
    in_eea: bool
    transfer_basis: str | None = None
    effective_at: datetime


# --- Building and reading envelopes -------------------------------------------------------


def envelope(
    payload: Payload,
    *,
    source: str,
    subject_id: str | None = None,
    tenant_id: str | None = None,
    correlation_id: str | None = None,
) -> Envelope:
    """The wire form of an event."""
    if payload.ABOUT == "subject" and not subject_id:
        raise ProtocolError(f"{payload.TYPE} needs a subject_id")
    if payload.ABOUT == "tenant" and not tenant_id:
        raise ProtocolError(f"{payload.TYPE} needs a tenant_id")
    return Envelope(
        type=payload.TYPE,
        version=payload.VERSION,
        source=source,
        subject_id=subject_id,
        tenant_id=tenant_id,
        correlation_id=correlation_id,
        data=payload.model_dump(mode="json"),
    )


def payload_of(event: Envelope, model: type[P]) -> P:
    """Parse an envelope's data back into its model, or say clearly why it does not fit."""
    if event.type != model.TYPE:
        raise ProtocolError(f"expected a {model.TYPE} event, got {event.type}")
    if event.version != model.VERSION:
        raise ProtocolError(
            f"{event.type} version {event.version} is not read here "
            f"(this consumer reads version {model.VERSION})"
        )
    if model.ABOUT == "subject" and not event.subject_id:
        raise ProtocolError(f"{event.type} {event.id} names no subject_id")
    if model.ABOUT == "tenant" and not event.tenant_id:
        raise ProtocolError(f"{event.type} {event.id} names no tenant_id")
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        raise ProtocolError(f"{event.type} {event.id} has an invalid payload: {exc}") from exc


@dataclass(frozen=True)
class Event(Generic[P]):
    """An event as a handler receives it: the envelope's fields and the typed payload."""

    envelope: Envelope
    payload: P

    @property
    def id(self) -> uuid.UUID:
        return self.envelope.id

    @property
    def subject_id(self) -> str | None:
        return self.envelope.subject_id

    @property
    def tenant_id(self) -> str | None:
        return self.envelope.tenant_id

    @property
    def source(self) -> str:
        return self.envelope.source

    @property
    def occurred_at(self) -> datetime:
        return self.envelope.occurred_at

    @property
    def correlation_id(self) -> str | None:
        return self.envelope.correlation_id

    def subject(self) -> str:
        """The subject id, for events whose model declares ABOUT = "subject"."""
        assert self.envelope.subject_id is not None
        return self.envelope.subject_id


# --- JSON Schemas -------------------------------------------------------------------------


def json_schema(model: type[Payload]) -> dict[str, Any]:
    """The JSON Schema of a whole event of this type: the envelope with its typed `data`."""
    data = model.model_json_schema(mode="serialization")
    defs = data.pop("$defs", {})
    envelope_schema = Envelope.model_json_schema(mode="serialization")
    properties = dict(envelope_schema["properties"])
    properties["type"] = {"const": model.TYPE, "title": "Type"}
    properties["version"] = {"const": model.VERSION, "title": "Version"}
    properties["data"] = data
    required = ["id", "type", "version", "occurred_at", "source", "data"]
    if model.ABOUT:
        required.append(f"{model.ABOUT}_id")
        properties[f"{model.ABOUT}_id"] = {"type": "string", "title": f"{model.ABOUT.title()} Id"}
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{model.TYPE}.json",
        "title": model.TYPE,
        "description": (model.__doc__ or "").strip(),
        "x-topic": model.TOPIC,
        "type": "object",
        "properties": properties,
        "required": required,
    }
    if defs:
        schema["$defs"] = defs
    return schema
