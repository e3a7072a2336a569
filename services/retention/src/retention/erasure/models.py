from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from retention.i18n import tr

# Why an erasure happened, as a code a certificate can carry (never the free-text reason,
# which may name the person).
ReasonCode = Literal[
    "subject_request",  # the person asked (GDPR Art. 17)
    "consent_withdrawn",  # the only ground was consent, now withdrawn (Art. 17(1)(b))
    "objection",  # the person objected and no overriding ground remains (Art. 17(1)(c))
    "unlawful_processing",  # Art. 17(1)(d)
    "legal_obligation",  # Art. 17(1)(e)
    "under_16_without_parental_consent",  # O6
    "retention_expired",  # the retention term ended (O15)
    "account_closed",
    "contract_terminated",  # the client's contract ended (O18)
    "other",
]
REASON_CODES: tuple[str, ...] = ReasonCode.__args__  # type: ignore[attr-defined]
# A case number or ticket id: letters, digits and . _ : / # -; no spaces, so no names.
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,99}$"


class ErasureJobCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"scope": "subject", "subject_id": "5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10",
                 "reason_code": "subject_request", "reference": "SR-2026-0114",
                 "reason": "Erasure request of the participant, approved by the Beheerder"}
            ]
        },
    )

    scope: Literal["subject", "tenant", "category"]
    subject_id: str | None = Field(default=None, min_length=1, max_length=200)
    tenant_id: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, min_length=1, max_length=200)
    older_than: datetime | None = None
    reason_code: ReasonCode | None = Field(
        default=None,
        description="Why, as a code; it goes into the certificate. When absent, a `reason` "
        "that is itself a code is taken as the code, else `other`.")
    reference: str | None = Field(
        default=None, pattern=REFERENCE_PATTERN,
        description="A case number or ticket id (no spaces); it goes into the certificate.")
    reason: str | None = Field(
        default=None, min_length=1, max_length=2000,
        description="Free text for staff, kept until the job completes and never put into the "
        "certificate (it may name the person).")

    @model_validator(mode="after")
    def _scope_needs_its_target(self) -> ErasureJobCreate:
        needed = {"subject": "subject_id", "tenant": "tenant_id", "category": "category"}[self.scope]
        if getattr(self, needed) is None:
            raise ValueError(tr("a {scope} erasure needs '{field}'", scope=self.scope, field=needed))
        if self.scope == "category" and self.older_than is None:
            raise ValueError(tr("a category erasure needs 'older_than' (the cut-off)"))
        return self

    @model_validator(mode="after")
    def _reason_as_a_code(self) -> ErasureJobCreate:
        if self.reason_code is None:
            if self.reason is None:
                raise ValueError(tr("say why: give 'reason_code' (with a 'reference'), or 'reason'"))
            self.reason_code = (self.reason if self.reason in REASON_CODES  # type: ignore[assignment]
                                else "other")
        return self


JobStatus = Literal["held", "pending", "stuck", "completed", "completed_with_holds"]


class HeldBy(BaseModel):
    """The legal hold a held job waits for (O17): its id, ground and reference, never its
    free-text reason."""

    id: UUID
    ground: str
    reference: str | None = None
    on_subject: bool = Field(description="The hold names the subject (else the whole tenant)")
    tenant_id: str | None = None
    placed_at: datetime


class StoreState(BaseModel):
    status: Literal["pending", "completed"]
    erased: int | None = None
    counts: dict[str, int] | None = None
    held: dict[str, int] | None = Field(
        default=None, description="What a legal hold kept, per category (O17)")
    acknowledged_at: datetime | None = None


class ErasureJobRead(BaseModel):
    id: UUID
    status: JobStatus = Field(description=(
        "held: waiting, asked of no store yet, while a legal hold on the subject's tenant "
        "stands (see held_by) or while the subject's tenant cannot be found out (O17); "
        "pending: stores still answering; stuck: a store missed the deadline and is asked again "
        "(see missing_stores); completed: every store acknowledged; completed_with_holds: every "
        "store acknowledged and a legal hold kept part of the scope"))
    scope: str
    subject_hash: str | None = None
    tenant_id: str | None = None
    category: str | None = None
    reason: str | None = None
    reason_code: str
    reference: str | None = None
    trigger: str
    overdue: bool
    created_at: datetime
    deadline_at: datetime
    completed_at: datetime | None = None
    stuck_since: datetime | None = None
    stores: dict[str, StoreState]
    missing_stores: list[str] = Field(default=[], description="Stores that have not answered")
    follows_job_id: UUID | None = Field(
        default=None, description="The job whose held part this follow-up erases")
    follow_up_jobs: list[UUID] = Field(
        default=[], description="Jobs that erased what a released hold kept of this one")
    held_reason: Literal["tenant_on_hold", "subject_on_hold", "tenant_unresolved"] | None = \
        Field(default=None, description="Why a job is (or was) held (O17)")
    held_by: HeldBy | None = Field(
        default=None, description="While held: the legal hold the job waits for (O17)")
    certificate: dict[str, Any] | None = None
