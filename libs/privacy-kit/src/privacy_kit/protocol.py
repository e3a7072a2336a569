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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class DataCategory(BaseModel):
    """One category of data a store holds, as the record of processing (Art. 30) needs it."""

    model_config = ConfigDict(frozen=True)

    name: str
    fields: list[str]
    purpose: str
    legal_basis: str
    retention_rule: str
    recipients: list[str] = []
    personal: bool = True


class ErasureScope(BaseModel):
    """What to destroy: one subject, one tenant, or one category older than a cut-off."""

    kind: Literal["subject", "tenant", "category"]
    subject_id: str | None = None
    tenant_id: str | None = None
    category: str | None = None
    older_than: datetime | None = None
    # Subjects under legal hold (O17): never erased by a tenant or category scope.
    held_subject_ids: list[str] = []


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


class ErasureJobCompleted(Payload):
    """Every store has answered; the job's certificate is issued."""

    TYPE = "erasure.job_completed"
    TOPIC = Topic.ERASURE

    job_id: uuid.UUID
    stores: list[str]
    erased: int = Field(ge=0)


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
    """A breach affects people of this tenant (the envelope's tenant id): a count only."""

    TYPE = "breach.registered"
    TOPIC = Topic.BREACH

    breach_id: uuid.UUID
    affected_subjects: int = Field(ge=0)


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
