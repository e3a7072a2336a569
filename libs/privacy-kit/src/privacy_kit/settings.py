"""Settings base shared by every service: configuration comes from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "privacy-suite-development-secret-change-me"


class ServiceSettings(BaseSettings):
    """Configuration of one service. Each service subclasses it with its own defaults."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = "development"

    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    db_pool_min: int = 1
    db_pool_max: int = 10
    migrate_on_start: bool = False

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_enabled: bool = True
    # Prefix put before every topic name: lets tests and shared clusters keep their events apart.
    topic_prefix: str = ""
    topic_partitions: int = 3
    consumer_group: str = ""
    kafka_enable_idempotence: bool = False
    kafka_request_timeout_ms: int = 5000
    relay_enabled: bool = True
    relay_batch_size: int = 200
    relay_poll_interval_s: float = 1.0
    consumers_enabled: bool = True
    consumer_max_retries: int = 3
    consumer_retry_backoff_s: float = 0.2
    # How long the broker may hold a fetch with no new data: the floor of event latency.
    consumer_fetch_max_wait_ms: int = 100

    jwt_secret: str = DEV_SECRET
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    # OpenID Connect: the issuer whose /.well-known/openid-configuration names the JWKS.
    oidc_issuer_url: str = ""
    # Which claims say who is calling (privacy_kit.identity): dotted paths reach nested ones.
    jwt_subject_claim: str = "sub"
    jwt_roles_claim: str = "roles"
    jwt_tenant_claim: str = "tenant"

    otel_exporter_otlp_endpoint: str = ""

    # Idempotency-Key: how long a first answer is kept for retries, and how long a retry
    # waits for a first request that is still running before running itself.
    idempotency_ttl_s: int = 24 * 3600
    idempotency_lease_s: int = 60

    # The language of answers when `Accept-Language` asks for neither Dutch nor English.
    default_language: Literal["nl", "en"] = "en"

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"{self.topic_prefix}{self.service_name}"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> ServiceSettings:
        if self.environment == "production":
            if self.jwt_algorithm == "HS256" and self.jwt_secret == DEV_SECRET:
                raise ValueError(
                    "production refuses the development JWT secret: set JWT_SECRET or use RS256"
                )
            if self.jwt_algorithm == "RS256" and not (self.jwks_url or self.oidc_issuer_url):
                raise ValueError("RS256 needs JWKS_URL or OIDC_ISSUER_URL")
        return self
