"""Gateway configuration: where each upstream service lives, how long to wait, how fast callers may go."""

from __future__ import annotations

from typing import Annotated

from pydantic import field_validator
from pydantic_settings import NoDecode

from privacy_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "gateway"
    # The gateway has no database and no events of its own.
    kafka_enabled: bool = False

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
    # can call them, so they are limited by default. 0 switches the limit off. The address is
    # the connection's own unless it is one of the kit's TRUSTED_PROXIES.
    public_rate_limit_per_minute: int = 120

    # Browser origins allowed to call the API (CORS), e.g. the platform's own site with its
    # cookie banner: "https://www.example.org,https://app.example.org". None by default: a
    # browser page on another origin cannot read the answers. "*" allows every origin.
    cors_allow_origins: Annotated[list[str], NoDecode] = []
    # How long a browser may cache a preflight answer.
    cors_max_age_s: int = 600

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @property
    def upstreams(self) -> dict[str, str]:
        """The services the gateway forwards to: every store (URLs from the kit's settings)."""
        return self.store_urls
