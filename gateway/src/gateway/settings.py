"""Gateway configuration: where each upstream service lives, how long to wait, how fast callers may go."""

from __future__ import annotations

from privacy_kit.settings import ServiceSettings

# Upstream names are the store names of docs/conventions.md; the route table refers to them.
UPSTREAMS = ("training-records", "consent", "retention", "breach", "subject-rights")


class Settings(ServiceSettings):
    service_name: str = "gateway"
    # The gateway has no database and no events of its own.
    kafka_enabled: bool = False

    training_records_url: str = "http://127.0.0.1:8001"
    consent_url: str = "http://127.0.0.1:8002"
    retention_url: str = "http://127.0.0.1:8003"
    breach_url: str = "http://127.0.0.1:8004"
    subject_rights_url: str = "http://127.0.0.1:8005"

    # An upstream that has not answered within this many seconds gets a 504.
    upstream_timeout_s: float = 10.0
    upstream_max_connections: int = 100
    # /healthz asks every upstream at once and must stay quick even when one hangs.
    health_timeout_s: float = 2.0
    # Upstream OpenAPI documents are kept this long before /openapi.json asks again.
    openapi_cache_s: float = 30.0
    openapi_fetch_timeout_s: float = 3.0

    # Requests per minute per signed-in person (their `sub`) or, without a valid token, per
    # client address. 0 switches the limit off.
    rate_limit_per_minute: int = 0

    @property
    def upstreams(self) -> dict[str, str]:
        return {
            "training-records": self.training_records_url,
            "consent": self.consent_url,
            "retention": self.retention_url,
            "breach": self.breach_url,
            "subject-rights": self.subject_rights_url,
        }
