"""Unsubscribe links as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

ALL_PURPOSES = "all"


class UnsubscribeLink(BaseModel):
    """What a mail needs: the link and the two headers of RFC 2369 / RFC 8058."""

    model_config = {"json_schema_extra": {"examples": [{
        "url": "https://privacy.example.org/v1/unsubscribe/eyJhbGciOi...",
        "purpose": "newsletter", "expires_at": "2027-05-20T10:00:00Z",
        "headers": {"List-Unsubscribe": "<https://privacy.example.org/v1/unsubscribe/eyJ...>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    }]}}

    url: str
    purpose: str = Field(description=f"A direct-marketing purpose, or '{ALL_PURPOSES}'.")
    expires_at: datetime
    headers: dict[str, str] = Field(description="Put these headers on the message as they are.")


class UnsubscribeOffer(BaseModel):
    """What a link would do; fetching it changes nothing (mail scanners follow links)."""

    purposes: list[str]
    expires_at: datetime
    how: str


class Unsubscribed(BaseModel):
    purposes: list[str] = Field(description="The purposes now withdrawn.")
    records: list[uuid.UUID] = Field(description="Ledger records appended for this unsubscribe; "
                                     "empty when every purpose was withdrawn already.")
