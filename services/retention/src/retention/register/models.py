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
    security_measures: str = Field(
        default="docs/security.md",
        description="The technical and organisational measures (GDPR Art. 30(1)(g), Art. 32; "
                    "O29): access control, encryption, logging, backups, incidents.")
