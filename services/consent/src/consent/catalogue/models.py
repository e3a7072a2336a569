"""Purposes and policy versions as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LegalBasis = Literal["consent", "legitimate_interest", "contract", "legal_obligation"]
CookieCategory = Literal["strictly_necessary", "functional", "analytics", "marketing"]
PURPOSE_ID = r"^[a-z0-9][a-z0-9-]{1,47}$"


class PurposeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=PURPOSE_ID, description="A short slug, e.g. 'webinar-invites'.")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    legal_basis: LegalBasis = "consent"
    cookie_category: CookieCategory | None = None
    vendors: list[str] = Field(default_factory=list, max_length=50)
    direct_marketing: bool = False
    gpc_refusal: bool = Field(
        default=False, description="A request with `Sec-GPC: 1` counts as refusal of it."
    )
    default_granted: bool = Field(
        default=False,
        description="On until refused (opt-out). Only for a legal basis other than consent.",
    )


class PurposeRead(BaseModel):
    id: str
    name: str
    description: str
    legal_basis: LegalBasis
    cookie_category: CookieCategory | None
    vendors: list[str]
    direct_marketing: bool
    gpc_refusal: bool
    default_granted: bool
    created_at: datetime
    retired_at: datetime | None


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
    effective_date: date
    changelog: str = Field(min_length=1, max_length=10000)
    url: str = Field(min_length=1, max_length=500)
    materially_changed_purposes: list[str] = Field(
        default_factory=list,
        description="Consents given under an older version for these purposes need renewal.",
    )
    announce: bool = Field(
        default=False, description="The change widens collection or sub-processors (O14)."
    )


class PolicyRead(BaseModel):
    version: str
    effective_date: date
    changelog: str
    url: str
    materially_changed_purposes: list[str]
    announce: bool
    published_at: datetime
    current: bool
