from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LegalHoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"subject_id": "5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10",
         "reason": "Claim filed by the participant, case 2026-114"}]})

    subject_id: str | None = Field(default=None, min_length=1, max_length=200)
    tenant_id: str | None = Field(default=None, min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _names_something(self) -> LegalHoldCreate:
        if not self.subject_id and not self.tenant_id:
            raise ValueError("a legal hold names a subject_id, a tenant_id or both")
        return self


class LegalHoldRead(BaseModel):
    id: uuid.UUID
    subject_id: str | None
    tenant_id: str | None
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
