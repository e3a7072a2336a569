from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from privacy_kit.protocol import DataCategory
from retention.sub_processor.models import SubProcessorRead


class StoreRecord(BaseModel):
    """What one store declared it holds."""

    store: str
    personal: bool
    published_at: datetime
    categories: list[DataCategory]


class RetentionEntry(BaseModel):
    period: str
    clock: str
    action: str
    source: str = Field(description="declared by the store, override by staff, or policy term")
    auto_approve: bool


class ProcessingActivity(BaseModel):
    """One category of one store, as Art. 30 asks for it."""

    store: str
    category: str
    personal: bool
    purpose: str
    legal_basis: str
    data_subjects: list[str]
    personal_data: list[str] = Field(description="The fields held")
    recipients: list[str]
    retention: RetentionEntry | None = Field(description="The rule that applies (O15)")
    retention_description: str
    needs_a_rule: bool


class RegisterView(BaseModel):
    role: Literal["processor", "controller"]
    description: str
    activities: list[ProcessingActivity]


class ProcessingRegister(BaseModel):
    """The record of processing activities (GDPR Art. 30), merged from every store, in both of
    the platform's roles, with its sub-processors (O7, O29)."""

    generated_at: datetime
    processor: RegisterView = Field(description="Art. 30(2): on behalf of client organisations")
    controller: RegisterView = Field(description="Art. 30(1): for the platform's own users")
    sub_processors: list[SubProcessorRead]
    transfers_outside_eea: list[SubProcessorRead] = Field(
        description="Sub-processors outside the EEA, each with its transfer basis")
    security_measures: list[str]
    stores_missing: list[str] = Field(
        description="Expected stores that have not declared what they hold yet")
    needs_a_rule: list[dict[str, str]] = Field(
        default=[], description="Categories with personal data and no retention rule (O15)")
    stores: list[StoreRecord] = Field(description="Each store's inventory as it declared it")
