"""The consent ledger as the API shows it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from privacy_kit.guards import AMSTERDAM, strict_date_text

Method = Literal["banner", "settings_page", "api", "import"]
Source = Literal["record", "default", "objection", "gpc", "retired", "restricted"]


class ConsentChange(BaseModel):
    """One grant or withdrawal. `birth_date` and `parental_consent_id` serve O6: the consent
    service holds no birth dates, so the caller passes the date when it knows the person's age."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"granted": True, "method": "settings_page"},
        {"granted": False, "method": "banner"},
    ]})

    granted: StrictBool
    method: Method = Field(default="api", description="How it was given: banner, settings page, "
                           "API, or import (staff only).")
    policy_version: str | None = Field(
        default=None, description="Defaults to the version in force; staff importing older "
        "consents may name an earlier one.")
    birth_date: date | None = Field(
        default=None, description="Not stored. Under 16, a grant needs parental_consent_id (O6).")
    parental_consent_id: uuid.UUID | None = None
    tenant_id: str | None = Field(default=None, max_length=200, description="Staff only; for "
                                  "participants the tenant comes from the token.")


class Actor(BaseModel):
    sub: str
    role: str
    on_behalf: bool = Field(description="Staff acting on the person's behalf.")


class ConsentRecordRead(BaseModel):
    id: uuid.UUID
    subject_id: str
    purpose: str
    granted: bool
    policy_version: str
    method: str
    actor: Actor
    tenant_id: str | None
    parental_consent_id: uuid.UUID | None
    gpc: bool = Field(description="The request carried `Sec-GPC: 1`; a grant became a refusal.")
    recorded_at: datetime
    chain_index: int
    prev_hash: str
    hash: str


class EffectiveConsent(BaseModel):
    purpose: str
    granted: bool = Field(description="What processing may rely on now.")
    source: Source = Field(description="Why: the latest record, the purpose's default, an "
                           "objection to direct marketing, a GPC signal, a retired purpose, or "
                           "the person's restricted processing (O19).")
    record_id: uuid.UUID | None
    recorded_granted: bool | None
    policy_version: str | None
    method: str | None
    recorded_at: datetime | None
    needs_renewal: bool = Field(description="Granted under an older policy version that "
                                "materially changed this purpose (O14).")
    direct_marketing: bool
    retired: bool


class ConsentRecordWritten(ConsentRecordRead):
    effective: EffectiveConsent


class ObjectionChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {}, {"purposes": ["newsletter"]}]})

    purposes: list[str] | None = Field(
        default=None, description="Direct-marketing purposes it covers; null means all of them.")


class ObjectionRead(BaseModel):
    id: uuid.UUID
    subject_id: str
    purposes: list[str] | None
    actor: Actor
    created_at: datetime
    lifted_at: datetime | None
    lifted_by: str | None


class SubjectConsents(BaseModel):
    subject_id: str
    policy_version: str | None = Field(description="The policy version in force.")
    objection: ObjectionRead | None
    restricted: bool = Field(default=False, description="Processing is restricted (GDPR art. "
                             "18): no purpose counts as granted until it is lifted (O19).")
    consents: dict[str, EffectiveConsent]


class ChainProblem(BaseModel):
    record_id: uuid.UUID
    chain_index: int
    problem: str


class ChainVerification(BaseModel):
    subject_id: str
    valid: bool
    records: int
    head_hash: str | None
    problems: list[ChainProblem]


class ParentalConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "guardian_reference": "guardian-2026-0042", "verification_method": "iDIN bank check",
        "verified_at": "2026-11-21T10:00:00Z"}]})

    guardian_reference: str = Field(
        min_length=1, max_length=200,
        description="A pseudonymous reference to the guardian and the proof, not a name.")
    verification_method: str = Field(min_length=1, max_length=200)
    verified_at: datetime | None = Field(
        None, description="When it was verified, as ISO text; without an offset it is read as "
        "Europe/Amsterdam time. Not in the future (O6).")

    @field_validator("verified_at", mode="before")
    @classmethod
    def _text_time(cls, value: Any) -> Any:
        return None if value is None else strict_date_text(value)

    @field_validator("verified_at")
    @classmethod
    def _not_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=AMSTERDAM)
        if value > datetime.now(UTC):
            raise ValueError("parental consent cannot be verified in the future")
        return value


class ParentalConsentFromStore(ParentalConsentCreate):
    """Training-records registering an under-16 (O6): the Beheerder who checked the consent."""

    verified_by: str = Field(min_length=1, max_length=200)


class ParentalConsentRead(BaseModel):
    id: uuid.UUID
    subject_id: str
    guardian_reference: str
    verification_method: str
    verified_by: str
    verified_at: datetime


class Renewals(BaseModel):
    policy_version: str | None
    purposes: dict[str, list[str]] = Field(description="Per purpose, the subjects to ask again.")


Receipt = dict[str, Any]
