"""Subject request cases as the API shows them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from subject_rights.i18n import tr

Kind = Literal["access", "portability", "rectification", "erasure", "restriction", "objection",
               "automated-decision-review", "consent-withdrawal"]
Status = Literal["received", "awaiting_verification", "verified", "in_progress", "completed",
                 "refused", "withdrawn"]
Channel = Literal["online", "email", "letter"]
OPEN = ("received", "awaiting_verification", "verified", "in_progress")
CLOSED = ("completed", "refused", "withdrawn")

# O22: the grounds the law accepts for refusing a request (GDPR art. 12(5), 15(4), 17(3)).
REFUSAL_GROUNDS: dict[str, str] = {
    "manifestly_unfounded": tr("the request is manifestly unfounded (art. 12(5))"),
    "excessive": tr("the request is excessive, in particular because it is repeated "
                    "(art. 12(5))"),
    "rights_of_others": tr("answering would adversely affect the rights and freedoms of others "
                           "(art. 15(4))"),
    "legal_obligation": tr("the data must be kept to comply with a legal obligation "
                           "(art. 17(3)(b); erasure only)"),
    "legal_claims": tr("the data is needed for the establishment, exercise or defence of legal "
                       "claims (art. 17(3)(e); erasure only)"),
    "archiving": tr("archiving in the public interest, research or statistics (art. 17(3)(d); "
                    "erasure only)"),
}
ERASURE_EXCEPTIONS = ("legal_obligation", "legal_claims", "archiving")
NOT_ACCEPTED = (tr("too much technical effort"), tr("it is in a backup"))

COMPLAINT_NOTICE = (
    "You have the right to lodge a complaint with the Dutch supervisory authority, the "
    "Autoriteit Persoonsgegevens (https://autoriteitpersoonsgegevens.nl), and to go to court."
)


class SubjectRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "access", "details": "I would like a copy of my training history."},
        {"kind": "erasure", "subject_id": "5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10",
         "channel": "letter", "received_on": "2026-11-18",
         "details": "Letter of 16 November asking to delete the account."},
    ]})

    kind: Kind
    details: str = Field(default="", max_length=10000)
    subject_id: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="Staff or a Beheerder entering a request on someone's behalf name the "
                    "person here.")
    channel: Channel | None = Field(
        default=None, description="On-behalf entries: how the request came in (e-mail, letter).")
    received_on: date | None = Field(
        default=None, description="On-behalf entries: the day the request was received; the "
        "term runs from it (not in the future, at most four weeks back).")
    rectification: dict[str, Any] | None = Field(
        default=None, description="For a rectification: the corrections asked, by field.")


class ErasureRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"details": "Please delete my account."}]})

    details: str = Field(default="", max_length=10000)


class HistoryEntry(BaseModel):
    action: str
    from_status: str | None
    to_status: str
    actor: str
    actor_role: str
    note: str | None
    at: datetime


class Decision(BaseModel):
    decided_at: datetime | None
    decided_by: str | None
    instruction_reference: str | None = Field(
        description="The tenant's written instruction when the platform's DPO acted for it.")


class Refusal(BaseModel):
    ground: str
    ground_text: str
    explanation: str | None
    complaint: str = COMPLAINT_NOTICE


class Extension(BaseModel):
    extended_at: datetime
    months: int
    reason: str | None
    first_due_at: datetime


class BundleInfo(BaseModel):
    id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    complete: bool
    stores: dict[str, str] = Field(description="Per store: 'included' or why it is missing.")
    size_bytes: int
    download: str


class CaseSummary(BaseModel):
    """An inbox row."""

    id: uuid.UUID
    kind: str
    status: str
    subject_id: str | None
    tenant_id: str | None
    controller: Literal["tenant", "platform"]
    channel: str
    on_behalf: bool
    received_at: datetime
    due_at: datetime = Field(description="When the term ends: the end of due_date in "
                             "Europe/Amsterdam.")
    due_date: date
    verified: bool
    extended: bool
    due_soon: bool
    overdue: bool


class Case(CaseSummary):
    details: str
    submitted_by: str
    entered_at: datetime
    verification_method: str | None
    verified_at: datetime | None
    rectification: dict[str, Any] | None
    decision: Decision | None
    extension: Extension | None
    refusal: Refusal | None
    closed_at: datetime | None
    erasure_job_id: uuid.UUID | None
    outcome: dict[str, Any]
    bundle: BundleInfo | None
    history: list[HistoryEntry]


class VerificationSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"code": "482913"}, {}, {"method": "contact_on_file",
                                 "note": "The letter came from the address we hold."}]})

    code: str | None = Field(
        default=None, min_length=4, max_length=12,
        description="The one-time code from the e-mail (no sign-in needed). Leave out when "
                    "signed in as the person the request is about.")
    method: Literal["contact_on_file", "known_in_person"] | None = Field(
        default=None, description="The controller records how it identified the person without "
        "a code. Never a copy of an identity document: it carries a BSN.")
    note: str = Field(default="", max_length=2000)


class VerificationResult(BaseModel):
    id: uuid.UUID
    kind: str
    status: str
    verified_at: datetime | None


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"note": "Approved."},
        {"instruction_reference": "Mail of Acme B.V., 18 Nov 2026",
         "note": "DPO acting on the organisation's written instruction"},
        {"rectification": {"name": "Sanne de Vries-Jansen"}},
    ]})

    note: str = Field(default="", max_length=2000)
    instruction_reference: str | None = Field(
        default=None, min_length=1, max_length=500,
        description="Platform DPO only, for a tenant's case: the tenant's written instruction.")
    rectification: dict[str, Any] | None = Field(
        default=None, description="The corrections to apply, by field (rectification cases).")


class RefusalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"ground": "excessive", "explanation": "Third identical request this month."}]})

    ground: str = Field(min_length=1, max_length=200, description=(
        "One of: " + ", ".join(REFUSAL_GROUNDS) + ". Technical effort and backups are not "
        "grounds."))
    explanation: str = Field(min_length=1, max_length=5000)
    instruction_reference: str | None = Field(default=None, min_length=1, max_length=500)


class ExtensionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"months": 2, "reason": "Records from five years of trainings must be gathered."}]})

    months: int = Field(ge=1, le=2, description="Up to two months (GDPR art. 12(3)).")
    reason: str = Field(min_length=1, max_length=5000, description="Told to the person.")
    instruction_reference: str | None = Field(default=None, min_length=1, max_length=500)


class NoteOnly(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"note": "The data has been corrected; processing may resume."}]})

    note: str = Field(default="", max_length=2000)
    instruction_reference: str | None = Field(default=None, min_length=1, max_length=500)
