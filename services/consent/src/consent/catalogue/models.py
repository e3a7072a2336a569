"""Purposes and policy versions as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from privacy_kit.i18n import Language

LegalBasis = Literal["consent", "legitimate_interest", "contract", "legal_obligation"]
CookieCategory = Literal["strictly_necessary", "functional", "analytics", "marketing"]
PURPOSE_ID = r"^[a-z0-9][a-z0-9-]{1,47}$"


class PurposeText(BaseModel):
    """A purpose's name and description in one language."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


Translations = dict[Language, PurposeText]
_TRANSLATIONS_DOC = ("The purpose in Dutch (`nl`) and English (`en`); answers use the language "
                     "of `Accept-Language`, else `name`/`description`.")


class PurposeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "webinar-invites", "name": "Webinar invitations",
        "description": "Invitations to our free webinars about privacy at work.",
        "legal_basis": "consent", "direct_marketing": True,
        "translations": {
            "nl": {"name": "Uitnodigingen voor webinars",
                   "description": "Uitnodigingen voor onze gratis webinars over privacy op het "
                                  "werk."},
            "en": {"name": "Webinar invitations",
                   "description": "Invitations to our free webinars about privacy at work."}},
    }]})

    id: str = Field(pattern=PURPOSE_ID, description="A short slug, e.g. 'webinar-invites'.")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    translations: Translations = Field(default_factory=dict, description=_TRANSLATIONS_DOC)
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


class PurposeUpdate(BaseModel):
    """New wording of a purpose. What is consented to does not change with it: a change of
    substance is a new purpose or a policy version that names it as materially changed."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "translations": {"nl": {"name": "Nieuwsbrief", "description": "Eens per maand ons "
                                "nieuws over trainingen en het platform."}}}]})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    translations: Translations | None = Field(
        default=None, description="Per language sent, the new text; other languages stay.")


class PurposeRead(BaseModel):
    id: str
    name: str = Field(description="In the language of the answer (`language`).")
    description: str
    language: Language = Field(description="The language of `name` and `description`.")
    translations: dict[str, PurposeText]
    legal_basis: LegalBasis
    cookie_category: CookieCategory | None
    vendors: list[str]
    direct_marketing: bool
    gpc_refusal: bool
    default_granted: bool
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "version": "2026-12-01", "effective_date": "2026-12-01",
        "changelog": "Hotjar vervangen door een eigen, cookieloze meting; de lijst met "
                     "subverwerkers bijgewerkt.",
        "url": "https://privacy.example.org/policy/2026-12-01",
        "materially_changed_purposes": ["session-recording"], "announce": True}]})

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
