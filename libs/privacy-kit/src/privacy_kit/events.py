"""The one event envelope and the topic catalogue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field


class Topic:
    """Topic families. Keys: tenant or subject id, so one person's events stay ordered."""

    ERASURE = "privacy.erasure"
    TENANT = "privacy.tenant"
    CONSENT = "privacy.consent"
    SUBJECT = "privacy.subject"
    BREACH = "privacy.breach"
    INVENTORY = "privacy.inventory"

    ALL = (ERASURE, TENANT, CONSENT, SUBJECT, BREACH, INVENTORY)


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


class Envelope(BaseModel):
    """Every event on the wire. `data` holds pseudonymous ids, counts and categories only."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: str
    tenant_id: str | None = None
    subject_id: str | None = None
    correlation_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
