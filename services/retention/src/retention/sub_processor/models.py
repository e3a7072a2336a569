from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from retention.i18n import tr

TransferBasis = Literal["adequacy_decision", "standard_contractual_clauses",
                        "binding_corporate_rules"]

# The EEA: the 27 EU member states, Iceland, Liechtenstein and Norway (ISO 3166-1 alpha-2).
EEA = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"})
# Countries with an adequacy decision of the European Commission (GDPR Art. 45); for the US
# it covers organisations certified under the EU-US Data Privacy Framework.
ADEQUATE = frozenset({"AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "CH",
                      "GB", "US", "UY"})

class SubProcessorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Mailstroom B.V.", "service": "sending transactional e-mail",
         "location": "NL"},
        {"name": "Cloudhost Inc.", "service": "backups",
                   "location": "US", "transfer_basis": "standard_contractual_clauses"}]})

    name: str = Field(min_length=1, max_length=200)
    service: str = Field(min_length=1, max_length=500, description="What it does for the platform")
    location: str = Field(min_length=2, max_length=2,
                          description="Where it processes: ISO 3166-1 alpha-2 country code")
    transfer_basis: TransferBasis | None = Field(
        default=None, description="Required outside the EEA (GDPR Chapter V)")

    @field_validator("location")
    @classmethod
    def _country_code(cls, value: str) -> str:
        if not (value.isascii() and value.isalpha()):
            raise ValueError(tr("a two-letter country code, e.g. NL or US"))
        return value.upper()


class SubProcessorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"location": "DE"}]})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    service: str | None = Field(default=None, min_length=1, max_length=500)
    location: str | None = Field(default=None, min_length=2, max_length=2)
    transfer_basis: TransferBasis | None = None

    @field_validator("location")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        if value is not None and not (value.isascii() and value.isalpha()):
            raise ValueError(tr("a two-letter country code, e.g. NL or US"))
        return value.upper() if value else value


class SubProcessorChangeRead(BaseModel):
    change: Literal["added", "changed", "removed"]
    state: dict[str, object]
    changed_by: str
    changed_at: datetime


class SubProcessorRead(BaseModel):
    id: uuid.UUID
    name: str
    service: str
    location: str
    in_eea: bool
    transfer_basis: TransferBasis | None
    added_by: str
    added_at: datetime
    changed_by: str
    changed_at: datetime
    removed_by: str | None = None
    removed_at: datetime | None = None
    changes: list[SubProcessorChangeRead] | None = Field(
        default=None, description="Every addition, change and removal (on the single read)")
