"""Configuration of the consent service (environment variables, no prefix)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import model_validator

from privacy_kit.deps import settings_dependency
from privacy_kit.settings import MIN_SECRET_BYTES, ServiceSettings, weak_secret

DEV_COOKIE_ID_SECRET = "privacy-suite-development-cookie-id-key"


class Settings(ServiceSettings):
    service_name: str = "consent"
    # Named on every consent receipt (ISO/IEC 27560, Kantara): who is asking for consent.
    controller_name: str = "Privacy Suite platform"
    controller_contact: str = "privacy@example.org"
    jurisdiction: str = "NL"
    # Where a person withdraws: the settings page of the frontend, or this API.
    withdrawal_url: str = "https://privacy.example.org/settings/consents"
    # O6: below this age a grant needs a verified parental consent record.
    age_of_consent: int = 16
    # Signs the cookie ids this service issues to anonymous visitors.
    cookie_id_secret: str = DEV_COOKIE_ID_SECRET

    @model_validator(mode="after")
    def _refuse_development_cookie_key(self) -> Settings:
        if self.environment == "production" and (
            reason := weak_secret(self.cookie_id_secret, (DEV_COOKIE_ID_SECRET,))
        ):
            raise ValueError(
                f"production refuses this COOKIE_ID_SECRET: it {reason}; set a random secret "
                f"of at least {MIN_SECRET_BYTES} bytes"
            )
        return self


SettingsDep = Annotated[Settings, Depends(settings_dependency(Settings))]
