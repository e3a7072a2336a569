from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ErasureJobCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"scope": "subject", "subject_id": "5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10",
                 "reason": "Erasure request of the participant, approved by the Beheerder"}
            ]
        },
    )

    scope: Literal["subject", "tenant", "category"]
    subject_id: str | None = Field(default=None, min_length=1, max_length=200)
    tenant_id: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, min_length=1, max_length=200)
    older_than: datetime | None = None
    reason: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _scope_needs_its_target(self) -> ErasureJobCreate:
        needed = {"subject": "subject_id", "tenant": "tenant_id", "category": "category"}[self.scope]
        if getattr(self, needed) is None:
            raise ValueError(f"a {self.scope} erasure needs '{needed}'")
        if self.scope == "category" and self.older_than is None:
            raise ValueError("a category erasure needs 'older_than' (the cut-off)")
        return self


JobStatus = Literal["pending", "stuck", "completed", "completed_with_holds"]


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
        "pending: stores still answering; stuck: a store missed the deadline and is asked again "
        "(see missing_stores); completed: every store acknowledged; completed_with_holds: every "
        "store acknowledged and a legal hold kept part of the scope"))
    scope: str
    subject_hash: str | None = None
    tenant_id: str | None = None
    category: str | None = None
    reason: str
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
    certificate: dict[str, Any] | None = None
