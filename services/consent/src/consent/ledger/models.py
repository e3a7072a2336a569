"""The consent ledger as the API shows it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

Method = Literal["banner", "settings_page", "api", "import"]
Source = Literal["record", "default", "objection", "gpc", "retired"]


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
                           "objection to direct marketing, a GPC signal, or a retired purpose.")
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
    verified_at: datetime | None = None


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
