"""Audits per client organisation as the API shows them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from retention.i18n import tr

Prompt = Literal["regular", "breach", "authority_order"]


class AuditCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "audited_on": "2026-03-02", "auditor": "Veilig & Zeker Audits B.V.",
        "scope": "Technical and organisational measures of the processor agreement, §6",
        "findings": "Backups are not tested for restore; access reviews are quarterly.",
        "follow_up": "Restore test added to the monthly runbook, first one by 2026-04-01.",
        "prompted_by": "regular",
    }]})

    audited_on: date
    auditor: str = Field(min_length=1, max_length=300,
                         description="The independent expert or firm that held the audit.")
    scope: str = Field(default="", max_length=2000)
    findings: str = Field(default="", max_length=10000)
    follow_up: str = Field(default="", max_length=10000,
                           description="What the platform does about the findings, with dates.")
    follow_up_done_on: date | None = None
    prompted_by: Prompt = Field(
        default="regular",
        description="regular: the client's yearly audit (at most one a year, 001 §10.1); breach "
        "or authority_order: an extra audit, which needs prompt_reference.")
    prompt_reference: str | None = Field(
        default=None, max_length=300,
        description="The breach id or the authority's order reference for an extra audit.")

    @model_validator(mode="after")
    def _extra_audits_say_why(self) -> AuditCreate:
        if self.prompted_by != "regular" and not self.prompt_reference:
            raise ValueError(tr("an audit prompted by a breach or an authority order names it "
                                "in prompt_reference"))
        return self


class AuditUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "follow_up": "Restore test done on 2026-03-28: restored in 14 minutes.",
        "follow_up_done_on": "2026-03-28"}]})

    findings: str | None = Field(default=None, max_length=10000)
    follow_up: str | None = Field(default=None, max_length=10000)
    follow_up_done_on: date | None = None


class AuditRead(BaseModel):
    id: uuid.UUID
    tenant_id: str
    audited_on: date
    auditor: str
    scope: str
    findings: str
    follow_up: str
    follow_up_done_on: date | None
    prompted_by: Prompt
    prompt_reference: str | None
    recorded_by: str
    recorded_at: datetime
    updated_by: str | None
    updated_at: datetime | None
