"""Cookie choices of visitors and the Google Consent Mode v2 state derived from them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

ConsentModeValue = Literal["granted", "denied"]


class CookieChoiceChange(BaseModel):
    """Everything but strictly necessary cookies is off until chosen (O10)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"functional": True, "analytics": True, "marketing": False}]})

    strictly_necessary: StrictBool | None = Field(
        default=None, description="Always on; sending false is refused.")
    functional: StrictBool = False
    analytics: StrictBool = False
    marketing: StrictBool = False


class CookieChoices(BaseModel):
    strictly_necessary: bool = True
    functional: bool = False
    analytics: bool = False
    marketing: bool = False


class ConsentMode(BaseModel):
    """Google Consent Mode v2, ready to pass to gtag('consent', 'update', ...)."""

    ad_storage: ConsentModeValue
    ad_user_data: ConsentModeValue
    ad_personalization: ConsentModeValue
    analytics_storage: ConsentModeValue
    functionality_storage: ConsentModeValue
    personalization_storage: ConsentModeValue
    security_storage: ConsentModeValue


class CookieChoiceRead(BaseModel):
    cookie_id: str
    choices: CookieChoices
    consent_mode: ConsentMode
    chosen: bool = Field(description="False: no choice yet, the defaults apply; ask on first visit.")
    gpc: bool = Field(description="A `Sec-GPC: 1` signal refused marketing cookies.")
    policy_version: str | None
    recorded_at: datetime | None
    linked: bool = Field(description="Linked to a signed-in person.")


class CookieLinkResult(BaseModel):
    cookie_id: str
    subject_id: str
    linked_choices: int
    recorded_purposes: dict[str, bool] = Field(
        description="Ledger records written from the banner choice, per purpose.")
