from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from privacy_kit.paging import Page

_ID = "6f1c0e9a-8a57-4c36-9d1e-3f3b1f0c2a11"
_TRAINING = "8d0f6a4c-0c5e-4d8e-9a51-7e3c2b1a0f99"


class AssignmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "participant_id": _ID, "training_id": _TRAINING, "due_date": "2026-12-31"}]})
    participant_id: uuid.UUID
    training_id: uuid.UUID
    due_date: date | None = None


class AssignmentRead(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    training_id: uuid.UUID
    participant_id: uuid.UUID
    assigned_by: str | None = Field(description="The Beheerder's pseudonymous id.")
    assigned_at: datetime
    due_date: date | None


class AssignmentPage(Page[AssignmentRead]):
    restricted_participants: list[uuid.UUID] = Field(
        [], description="People on this page whose processing is restricted: their records "
        "are hidden from Beheerders.")


class ProgressUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "completed": True, "time_spent_s": 900}]})
    completed: bool = False
    time_spent_s: int = Field(0, ge=0, le=10_000_000,
                              description="Total time spent on the module so far, in seconds.")


class ProgressRead(BaseModel):
    training_id: uuid.UUID
    module_id: uuid.UUID
    position: int
    started_at: datetime
    completed_at: datetime | None
    time_spent_s: int


class ProgressWritten(ProgressRead):
    certificate_id: uuid.UUID | None = Field(
        None, description="Set when this completed the training and a certificate was issued.")


class LoginRead(BaseModel):
    id: int
    logged_in_at: datetime


class ResultCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "training_id": _TRAINING, "score": 82.5, "passed": True}]})
    training_id: uuid.UUID
    score: float = Field(ge=0, le=100)
    passed: bool


class ResultRead(BaseModel):
    id: uuid.UUID
    participant_id: uuid.UUID
    training_id: uuid.UUID
    score: float
    passed: bool
    recorded_at: datetime


class ResultWritten(ResultRead):
    certificate_id: uuid.UUID | None = None


class ResultPage(Page[ResultRead]):
    restricted_participants: list[uuid.UUID] = Field(
        [], description="People on this page whose processing is restricted: their results "
        "are hidden from Beheerders.")
