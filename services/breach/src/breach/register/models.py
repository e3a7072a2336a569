from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class AffectedSubject(BaseModel):
    subject_id: str = Field(min_length=1, max_length=200)
    tenant_id: str = Field(min_length=1, max_length=200)


class BreachCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "Export file sent to the wrong client",
        "facts": "A results export of one course was e-mailed to another organisation.",
        "effects": "Names and scores of 12 participants seen by one outside coordinator.",
        "measures": "Recipient confirmed deletion; exports now require a second check.",
        "discovered_at": "2026-11-21T09:30:00Z",
        "affected_subjects": [{"subject_id": "5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10",
                               "tenant_id": "0d3f6c7e-1f8a-4c8b-9a0e-2d8b7c6a5e41"}]}]})

    title: str = Field(min_length=1, max_length=300)
    facts: str = Field(min_length=1, max_length=20000)
    effects: str = Field(default="", max_length=20000)
    measures: str = Field(default="", max_length=20000)
    discovered_at: datetime
    affected_subjects: list[AffectedSubject] = Field(default_factory=list, max_length=100000)


class TenantNotification(BaseModel):
    tenant_id: str
    affected_count: int
    due_at: datetime
    notified_at: datetime | None
    overdue: bool


class BreachRead(BaseModel):
    id: UUID
    title: str
    facts: str
    effects: str
    measures: str
    discovered_at: datetime
    registered_at: datetime
    authority_due_at: datetime
    affected_subjects: int
    notifications: list[TenantNotification]
