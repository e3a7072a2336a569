from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from privacy_kit.protocol import DataCategory


class StoreRecord(BaseModel):
    """What one store declared it holds."""

    store: str
    personal: bool
    published_at: datetime
    categories: list[DataCategory]


class ProcessingRegister(BaseModel):
    """The record of processing activities (GDPR Art. 30), merged from every store."""

    stores: list[StoreRecord]
    needs_a_rule: list[dict[str, str]] = Field(
        default=[], description="Categories with personal data and no retention rule (O15)")
