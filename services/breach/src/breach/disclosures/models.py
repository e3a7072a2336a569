"""Disclosures to authorities (O30): what, to whom, on which legal basis, the tenant told or not."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from breach.clock import Instant, local
from breach.i18n import tr

NO_NAMES = "Describe the data without naming or identifying people."


class DisclosureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "tenant_id": "0d3f6c7e-1f8a-4c8b-9a0e-2d8b7c6a5e41",
        "authority": "Politie, Eenheid Amsterdam",
        "what": "Login times and IP addresses of one participant account, March 2026.",
        "data_categories": ["login times", "IP addresses"],
        "legal_basis": "Vordering ex art. 126nd Wetboek van Strafvordering",
        "disclosed_at": "2026-04-02T11:00:00+02:00",
        "tenant_informed_at": "2026-04-01T16:30:00+02:00",
        "subject_ids": ["5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10"],
    }]})

    tenant_id: str = Field(min_length=1, max_length=200)
    authority: str = Field(min_length=1, max_length=300, description="To whom")
    what: str = Field(min_length=1, max_length=5_000, description="What was disclosed. " + NO_NAMES)
    data_categories: list[str] = Field(default_factory=list, max_length=50)
    legal_basis: str = Field(min_length=1, max_length=1_000)
    disclosed_at: Instant
    tenant_informed_at: Instant | None = Field(
        default=None, description="When the tenant was told (beforehand, O30)")
    not_informed_reason: str | None = Field(
        default=None, max_length=2_000,
        description="Why the tenant was not told beforehand; required unless it was")
    secrecy_ground: str | None = Field(
        default=None, max_length=1_000,
        description="The legal ground that forbids telling the tenant: hides the record from "
                    "the tenant's Beheerders until lifted")
    subject_ids: list[str] = Field(default_factory=list, max_length=10_000,
                                   description="Whose data was disclosed (pseudonymous ids)")

    @model_validator(mode="after")
    def _told_or_why_not(self) -> DisclosureCreate:
        if self.secrecy_ground and not self.not_informed_reason:
            self.not_informed_reason = f"forbidden: {self.secrecy_ground}"
        if self.secrecy_ground and self.tenant_informed_at is not None:
            raise ValueError(tr("a secrecy ground forbids telling the tenant: leave tenant_informed_at "
                                "out"))
        beforehand = self.tenant_informed_at is not None and self.tenant_informed_at <= self.disclosed_at
        if not beforehand and not (self.not_informed_reason or "").strip():
            raise ValueError(tr("the tenant was not told beforehand: give not_informed_reason "
                                "(or the secrecy_ground that forbids it)"))
        return self


class Disclosure(BaseModel):
    id: uuid.UUID
    tenant_id: str
    authority: str
    what: str
    data_categories: list[str]
    legal_basis: str
    disclosed_at: datetime
    tenant_informed_at: datetime | None
    not_informed_reason: str | None
    secrecy_ground: str | None
    secrecy_lifted_at: datetime | None
    subjects: int
    recorded_by: str
    recorded_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tenant_informed_beforehand(self) -> bool:
        return self.tenant_informed_at is not None and self.tenant_informed_at <= self.disclosed_at

    @computed_field  # type: ignore[prop-decorator]
    @property
    def disclosed_at_amsterdam(self) -> datetime | None:
        return local(self.disclosed_at)
