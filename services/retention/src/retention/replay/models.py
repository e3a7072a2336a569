from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ReplayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"store": "training-records", "since": "2026-11-20T02:00:00Z"}]})

    store: str = Field(min_length=1, max_length=100, description="The store whose database "
                       "was restored")
    since: AwareDatetime = Field(description="When the restored backup was taken: every "
                                 "erasure completed since then is applied again")


class ReplayItem(BaseModel):
    id: uuid.UUID = Field(description="The job id of the erasure.requested event sent")
    job_id: uuid.UUID = Field(description="The erasure job applied again")
    kind: str
    subject_hash: str | None
    tenant_id: str | None
    category: str | None
    status: Literal["pending", "completed", "skipped"]
    erased: int | None
    counts: dict[str, int] | None
    acknowledged_at: datetime | None


class ReplaySummary(BaseModel):
    id: uuid.UUID
    store: str
    since: datetime
    requested_by: str
    status: Literal["pending", "completed"]
    created_at: datetime
    completed_at: datetime | None
    erasures: int
    pending: int
    skipped: int
    erased: int


class ReplayRead(ReplaySummary):
    items: list[ReplayItem]
    certificate: dict[str, Any] | None
