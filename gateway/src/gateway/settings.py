"""Gateway configuration: where each upstream service lives, how long to wait, how fast callers may go."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network

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
    # Below uvicorn's keep-alive timeout (5 s): an idle connection is dropped by us first.
    upstream_keepalive_s: float = 4.0
    # /healthz asks every upstream at once and must stay quick even when one hangs.
    health_timeout_s: float = 2.0
    # Upstream OpenAPI documents are kept this long before /openapi.json asks again.
    openapi_cache_s: float = 30.0
    openapi_fetch_timeout_s: float = 3.0

    # Requests per minute per signed-in person (their `sub`) or, without a valid token, per
    # client address. 0 switches the limit off.
    rate_limit_per_minute: int = 0
    # Public routes (cookie choices, certificate checks, purposes) per client address: anyone
    # can call them, so they are limited by default. 0 switches the limit off.
    public_rate_limit_per_minute: int = 120
    # Comma-separated addresses or networks (CIDR) of proxies in front of the gateway. Only
    # their X-Forwarded-For is believed; anyone else's address is the connection's own.
    trusted_proxies: str = ""

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(part.strip(), strict=False)
                     for part in self.trusted_proxies.split(",") if part.strip())

    @property
    def upstreams(self) -> dict[str, str]:
        return {
            "training-records": self.training_records_url,
            "consent": self.consent_url,
            "retention": self.retention_url,
            "breach": self.breach_url,
            "subject-rights": self.subject_rights_url,
        }
