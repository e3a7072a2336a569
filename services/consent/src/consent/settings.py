"""Configuration of the consent service (environment variables, no prefix)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import model_validator

from privacy_kit.deps import settings_dependency
from privacy_kit.settings import MIN_SECRET_BYTES, ServiceSettings, weak_secret

DEV_LEDGER_KEY = "privacy-suite-development-ledger-key-change-me"
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
    # O11: seals every ledger record (HMAC of its hash). Kept outside the database (a secret in
    # the environment), so database rights alone cannot rewrite a chain. Never change it once
    # records are sealed: verification would fail for every record sealed under the old key.
    ledger_key: str = DEV_LEDGER_KEY
    # O12: signs one-click unsubscribe links. Empty: a key derived from the ledger key; set it
    # to rotate the links on their own (links signed before stop working).
    unsubscribe_secret: str = ""
    unsubscribe_ttl_s: int = 180 * 24 * 3600
    # O13: how long an erased person's opt-out of anonymised data is remembered (keyed hash
    # only), for stores that handle the same erasure later.
    opt_out_memory_days: int = 30
    # O14: how often pending policy announcements are sent (0: never, e.g. in tests), in batches
    # of this many people, asking training-records for addresses with this timeout.
    announcement_interval_s: float = 30.0
    announcement_batch: int = 200
    contacts_timeout_s: float = 10.0
    # Where people reach the suite (the gateway): the base of links in messages.
    public_url: str = "http://127.0.0.1:8000"
    # Signs the cookie ids this service issues to anonymous visitors.
    cookie_id_secret: str = DEV_COOKIE_ID_SECRET

    @model_validator(mode="after")
    def _refuse_development_keys(self) -> Settings:
        if self.environment == "production" and self.ledger_key == DEV_LEDGER_KEY:
            raise ValueError("production refuses the development ledger key: set LEDGER_KEY")
        if self.environment == "production" and (
            reason := weak_secret(self.cookie_id_secret, (DEV_COOKIE_ID_SECRET,))
        ):
            raise ValueError(
                f"production refuses this COOKIE_ID_SECRET: it {reason}; set a random secret "
                f"of at least {MIN_SECRET_BYTES} bytes"
            )
        return self


SettingsDep = Annotated[Settings, Depends(settings_dependency(Settings))]
