from typing import Annotated

from fastapi import Depends

from privacy_kit.app import settings_dependency
from privacy_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "retention"
    # Keys the HMAC of subject ids in certificates and signs each certificate.
    certificate_secret: str = "privacy-suite-development-certificate-key"
    # A store that has not acknowledged by then gets the request again and the job is flagged.
    erasure_deadline_s: int = 15 * 60
    overdue_sweep_interval_s: float = 30.0


SettingsDep = Annotated[Settings, Depends(settings_dependency(Settings))]
