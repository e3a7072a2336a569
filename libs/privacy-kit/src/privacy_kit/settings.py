"""Settings base shared by every service: configuration comes from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "privacy-suite-development-secret-change-me"
# An HS256 secret shorter than this many bytes can be brute-forced (RFC 7518 section 3.2).
MIN_SECRET_BYTES = 32


def weak_secret(value: str, development_values: tuple[str, ...] = ()) -> str | None:
    """Why a secret must not be used in production, or None when it may."""
    if not value or value in development_values or value == DEV_SECRET:
        return "is a development value"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes"
    if len(set(value)) < 8:
        return "is not random (fewer than 8 distinct characters)"
    return None


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
    # A failing event is tried again in place only briefly (0.05 s, then 0.1 s), then parked
    # in the dead letters so the rest of its partition is not held up.
    consumer_max_retries: int = 2
    consumer_retry_backoff_s: float = 0.05
    # Every so often the consumer asks for the log ends: lag, broker contact, lost logs.
    consumer_position_check_s: float = 5.0
    # Health says degraded when the broker has not answered for this long, or the lag is larger.
    consumer_stale_after_s: float = 30.0
    consumer_max_lag: int = 10_000
    # How long the broker may hold a fetch with no new data: the floor of event latency.
    consumer_fetch_max_wait_ms: int = 100

    jwt_secret: str = DEV_SECRET
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    # A token whose exp lies further than this after its iat (or after now) is refused.
    jwt_max_lifetime_s: int = 24 * 3600
    jwt_leeway_s: int = 30

    # Input limits (privacy_kit.validation): 413 above the byte limits, 422 for the rest.
    max_body_bytes: int = 1024 * 1024
    # Bodies other than JSON (a CSV import) may be larger; a route may cap them lower.
    max_upload_bytes: int = 20 * 1024 * 1024
    max_json_depth: int = 32
    max_json_keys: int = 1000
    max_json_items: int = 100_000
    max_string_chars: int = 20_000
    # Ids in paths and `id`/`*_id` fields: a subject id is at most this long.
    max_id_chars: int = 200

    otel_exporter_otlp_endpoint: str = ""

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"{self.topic_prefix}{self.service_name}"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> ServiceSettings:
        if self.environment == "production":
            if self.jwt_algorithm == "HS256" and (reason := weak_secret(self.jwt_secret)):
                raise ValueError(
                    f"production refuses this JWT_SECRET: it {reason}; set a random secret of "
                    f"at least {MIN_SECRET_BYTES} bytes or use RS256 with JWKS_URL"
                )
            if self.jwt_algorithm == "RS256" and not self.jwks_url:
                raise ValueError("RS256 needs JWKS_URL")
            if not self.jwt_issuer or not self.jwt_audience:
                raise ValueError("production needs JWT_ISSUER and JWT_AUDIENCE: tokens of "
                                 "another issuer or meant for another audience must be refused")
            if not 0 < self.jwt_max_lifetime_s <= 7 * 24 * 3600:
                raise ValueError("JWT_MAX_LIFETIME_S must be between 1 s and 7 days")
        return self
