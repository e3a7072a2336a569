from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from retention.erasure.models import REFERENCE_PATTERN

TerminationStatus = Literal["scheduled", "effective", "held", "erasing", "erased", "cancelled"]


class TerminationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"tenant_id": "0b5c3d4e-6f70-4a8b-9c0d-1e2f3a4b5c6d", "end_date": "2026-12-31",
         "reference": "CONTRACT-2024-017"}]})

    tenant_id: str = Field(min_length=1, max_length=200)
    end_date: date = Field(description="The contract's last day. From the next day (00:00 UTC) "
                           "the tenant's data may not grow; after the grace period it is erased.")
    reference: str | None = Field(default=None, pattern=REFERENCE_PATTERN,
                                  description="The contract or case number (no spaces)")


class ExportDownload(BaseModel):
    downloaded_by: str
    downloaded_at: datetime


class TenantExportRead(BaseModel):
    id: uuid.UUID
    termination_id: uuid.UUID
    tenant_id: str
    status: Literal["preparing", "ready", "failed", "expired"]
    requested_by: str
    requested_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None
    size_bytes: int | None
    sha256: str | None
    manifest: dict[str, Any] | None = Field(
        description="Counts per store, category and file, as in the archive's manifest.json")
    error: str | None
    downloads: list[ExportDownload]


class HoldShown(BaseModel):
    id: uuid.UUID
    placed_at: datetime


class TerminationRead(BaseModel):
    id: uuid.UUID
    tenant_id: str
    end_date: date
    ends_at: datetime = Field(description="From then on the tenant's data may not grow")
    erase_after: datetime = Field(description="End plus the grace period: then it is erased")
    reference: str | None
    status: TerminationStatus = Field(
        description="scheduled (before the end), effective (ended, in the grace period), "
        "held (a legal hold on the tenant stops the erasure), erasing, erased, cancelled")
    recorded_by: str
    recorded_at: datetime
    effective_at: datetime | None
    held_since: datetime | None
    holds: list[HoldShown] = Field(description="Active legal holds on the whole tenant")
    erasure_job_id: uuid.UUID | None
    erasure_status: str | None
    certificate: dict[str, Any] | None = Field(
        description="The tenant erasure's signed certificate, once every store acknowledged")
    cancelled_by: str | None
    cancelled_at: datetime | None
    exports: list[TenantExportRead]
