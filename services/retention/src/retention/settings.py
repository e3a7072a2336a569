"""Configuration of the retention service (environment variables, no prefix)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import model_validator

from privacy_kit.app import settings_dependency
from privacy_kit.settings import MIN_SECRET_BYTES, STORES, ServiceSettings, weak_secret

DEV_CERTIFICATE_SECRET = "privacy-suite-development-certificate-key"


class Settings(ServiceSettings):
    service_name: str = "retention"
    # Keys the HMAC of subject ids in certificates and signs each certificate.
    certificate_secret: str = DEV_CERTIFICATE_SECRET
    # The stores every erasure must reach (O25), whether or not they have announced their
    # inventory yet: a store not heard from is waited for, never silently left out.
    expected_stores: list[str] = list(STORES)
    # A store that has not acknowledged by then makes its job `stuck`; it is asked again.
    erasure_deadline_s: int = 15 * 60
    # Stores that have not answered are asked again this long after the request, then after
    # twice as long each time, up to the longest pause: a lost acknowledgement costs seconds.
    erasure_reemit_after_s: float = 10.0
    erasure_reemit_max_pause_s: float = 300.0
    overdue_sweep_interval_s: float = 2.0
    # Retention sweeps (O15): one dry run every this many seconds (0: only on demand).
    retention_sweep_interval_s: float = 24 * 3600

    @model_validator(mode="after")
    def _refuse_development_certificate_key(self) -> Settings:
        if self.environment == "production" and (
            reason := weak_secret(self.certificate_secret, (DEV_CERTIFICATE_SECRET,))
        ):
            raise ValueError(
                f"production refuses this CERTIFICATE_SECRET: it {reason}; anyone could forge "
                f"certificates with it. Set a random secret of at least {MIN_SECRET_BYTES} bytes."
            )
        return self


SettingsDep = Annotated[Settings, Depends(settings_dependency(Settings))]
