from typing import Annotated

from fastapi import Depends

from privacy_kit.app import settings_dependency
from privacy_kit.settings import STORES, ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "retention"
    # Keys the HMAC of subject ids in certificates and signs each certificate.
    certificate_secret: str = "privacy-suite-development-certificate-key"
    # The stores every erasure must reach (O25), whether or not they have announced their
    # inventory yet: a store not heard from is waited for, never silently left out.
    expected_stores: list[str] = list(STORES)
    # A store that has not acknowledged by then makes its job `stuck`; it is asked again.
    erasure_deadline_s: int = 15 * 60
    overdue_sweep_interval_s: float = 30.0
    # Retention sweeps (O15): one dry run every this many seconds (0: only on demand).
    retention_sweep_interval_s: float = 24 * 3600


SettingsDep = Annotated[Settings, Depends(settings_dependency(Settings))]
