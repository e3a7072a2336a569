from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from retention.i18n import tr

# Why data may be kept past its term (O17), and the article that allows it.
HoldGround = Literal["legal_claims", "legal_obligation", "investigation", "authority_request"]
LAWFUL_GROUNDS: dict[str, str] = {
    "legal_claims": "GDPR Art. 17(3)(e): establishment, exercise or defence of legal claims",
    "legal_obligation": "GDPR Art. 17(3)(b): compliance with a legal obligation",
    "investigation": "GDPR Art. 23(1)(d): prevention, investigation or prosecution of offences",
    "authority_request": "GDPR Art. 17(3)(b): an order or request of a public authority",
}


class LegalHoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"subject_id": "5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10", "ground": "legal_claims",
         "reference": "case 2026-114", "reason": "Claim filed by the participant"},
        {"tenant_id": "8d0f6a4c-0c5e-4d8e-9a51-7e3c2b1a0f99", "category": "training_history",
         "ground": "investigation", "reference": "AP-2026-031",
         "reason": "Investigation of the supervisory authority into certificates issued"}]})

    subject_id: str | None = Field(default=None, min_length=1, max_length=200)
    tenant_id: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="Keep only this category of the tenant (needs tenant_id, not subject_id)")
    ground: HoldGround = Field(default="legal_claims",
                               description="The lawful ground for keeping the data (O17)")
    reference: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="A case or file number; shown in certificates, so never a person's name")
    reason: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _names_something(self) -> LegalHoldCreate:
        if not self.subject_id and not self.tenant_id:
            raise ValueError(tr("a legal hold names a subject_id, a tenant_id or both"))
        if self.category and (self.subject_id or not self.tenant_id):
            raise ValueError(tr("a hold on a category names the tenant_id whose category it "
                                "keeps, and no subject_id"))
        return self


class LegalHoldRead(BaseModel):
    id: uuid.UUID
    subject_id: str | None
    tenant_id: str | None
    category: str | None = None
    ground: HoldGround
    lawful_ground: str
    reference: str | None = None
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
    follow_up_jobs: list[uuid.UUID] = Field(
        default=[], description="On release: jobs that now erase what this hold kept")
