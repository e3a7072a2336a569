"""Configuration of the subject-rights service (environment variables, no prefix)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import model_validator

from privacy_kit.app import settings_dependency
from privacy_kit.settings import ServiceSettings

DEV_CASE_SECRET = "privacy-suite-development-case-secret-change-me"


class Settings(ServiceSettings):
    service_name: str = "subject-rights"
    # O21: four weeks after receipt (the seeds' promise), computed in this time zone.
    answer_within_days: int = 28
    time_zone: str = "Europe/Amsterdam"
    # Open cases whose term ends within this many days are listed and raised as due soon.
    due_soon_days: int = 3
    # O20: the one-time identity code sent to the e-mail address on file.
    identity_code_ttl_s: int = 24 * 3600
    identity_code_max_tries: int = 5
    identity_codes_per_case: int = 5
    # Keys identity-code hashes and the hashed subject id the case record keeps after erasure.
    case_secret: str = DEV_CASE_SECRET
    # O19: every store's export is asked at once, each with this timeout.
    export_timeout_s: float = 5.0
    # An access bundle can be downloaded this long, then it is deleted.
    bundle_ttl_s: int = 7 * 24 * 3600
    # How often the sweep raises due-soon/overdue cases and deletes expired bundles.
    sweep_interval_s: float = 60.0

    @model_validator(mode="after")
    def _refuse_development_case_secret(self) -> Settings:
        if self.environment == "production" and self.case_secret == DEV_CASE_SECRET:
            raise ValueError("production refuses the development CASE_SECRET")
        return self


SettingsDep = Annotated[Settings, Depends(settings_dependency(Settings))]
