from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

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
