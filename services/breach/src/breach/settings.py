"""Configuration of the breach service (environment variables, no prefix)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from privacy_kit.app import settings_dependency
from privacy_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "breach"
    tenant_notification_hours: int = 24  # O27: each affected client within 24 h of discovery
    authority_notification_hours: int = 72  # O28: the AP within 72 h of awareness
    # Notices due within this many hours are listed for the DPO and announced once.
    due_soon_hours: float = 4.0
    # How often the sweep looks for notices due soon or overdue (0: no background sweep).
    deadline_sweep_interval_s: float = 60.0
    # A time up to this far ahead of the server's clock is taken as "now" (clock skew).
    future_tolerance_s: float = 60.0
    # A breach may name up to 200,000 affected people (`BreachCreate`), some 40 bytes each in
    # JSON: this service takes bodies and lists that big (the kit's defaults: 1 MiB, 100,000);
    # the gateway lets them through on `POST /v1/breaches` only (gateway.routes.BODY_LIMITS).
    max_body_bytes: int = 10 * 1024 * 1024
    max_json_items: int = 200_000
    # Asking training-records which tenant each affected subject belongs to.
    lookup_batch_size: int = 10_000
    lookup_concurrency: int = 4
    lookup_timeout_s: float = 30.0
    # The organisation and contact the AP's form and every notice name (the platform's DPO).
    organisation_name: str = "Privacy Suite platform operator"
    organisation_coc_number: str = ""
    organisation_address: str = ""
    organisation_sector: str = "education"
    dpo_name: str = ""
    dpo_email: str = ""
    dpo_phone: str = ""


SettingsDep = Annotated[Settings, Depends(settings_dependency(Settings))]
