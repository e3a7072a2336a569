"""Policy announcements and acceptances as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from consent.ledger.models import Actor

Status = Literal["pending", "told", "no_address"]


class Recipient(BaseModel):
    subject_id: str
    status: Status = Field(description="pending: not told yet; told: a message is queued; "
                           "no_address: no address known for this person.")
    created_at: datetime
    told_at: datetime | None
    message_id: uuid.UUID | None
    accepted_at: datetime | None = Field(description="When they accepted this version, if so.")


class AnnouncementSummary(BaseModel):
    policy_version: str
    announce: bool
    people: int = Field(description="People it concerns: everyone with consent records when "
                        "it was published.")
    pending: int
    told: int
    no_address: int
    accepted: int = Field(description="People who accepted this version (told or not).")


class Acceptance(BaseModel):
    subject_id: str
    policy_version: str
    accepted_at: datetime
    actor: Actor
