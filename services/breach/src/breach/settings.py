from privacy_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "breach"
    tenant_notification_hours: int = 24  # O27: each affected client within 24 h of discovery
    authority_notification_hours: int = 72  # O28: the AP within 72 h of awareness
