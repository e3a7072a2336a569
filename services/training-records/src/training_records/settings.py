"""Configuration of the training-records service (environment variables, no prefix)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from privacy_kit.deps import settings_dependency
from privacy_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "training-records"
    # A benchmark shows a mean and pass rate only over at least this many people, so that a
    # small group's aggregate cannot be read back to one person.
    benchmark_min_participants: int = 5
    # O13: how long erasure waits for consent to say who opted out before folding nobody.
    consent_timeout_s: float = 5.0
    # CSV import limits: a file is validated as a whole, so it must fit comfortably in memory.
    import_max_bytes: int = 20 * 1024 * 1024
    import_max_rows: int = 50_000
    # The address people reach this suite at (the gateway's public URL), printed on
    # certificates as where to check them, e.g. "https://privacy.example.org". Empty: the
    # address the request came in at, as the gateway forwards it (X-Forwarded-Proto/-Host).
    public_base_url: str = ""
    # O25: how often accounts a retention sweep ended are turned into erasure requests for the
    # other stores (ended_accounts).
    ended_account_interval_s: float = 1.0


SettingsDep = Annotated[Settings, Depends(settings_dependency(Settings))]
