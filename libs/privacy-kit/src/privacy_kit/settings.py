"""Settings base shared by every service: configuration comes from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "privacy-suite-development-secret-change-me"
DEV_SERVICE_SECRET = "privacy-suite-development-service-secret-change-me"

# The stores, by name, and the setting that holds each one's base URL (`<NAME>_URL`).
STORES = ("training-records", "consent", "retention", "breach", "subject-rights")
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
    # How every Kafka client (producer, consumer, admin) connects: TLS and SASL for a managed
    # or secured cluster. The CA file is optional (the system trust store is used without it);
    # certfile and keyfile only for mutual TLS.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = ""
    kafka_ssl_certfile: str = ""
    kafka_ssl_keyfile: str = ""
    kafka_ssl_check_hostname: bool = True
    # Prefix put before every topic name: lets tests and shared clusters keep their events apart.
    topic_prefix: str = ""
    topic_partitions: int = 3
    topic_replication_factor: int = 1
    # 0: the broker's default. With three replicas, 2 keeps acks=all writes safe from one loss.
    topic_min_insync_replicas: int = 0
    # Services create missing topics at start-up only outside production (None); production
    # creates them once beforehand (`python -m privacy_kit.topics`, a Job or Strimzi).
    kafka_create_topics: bool | None = None
    consumer_group: str = ""
    # None: on in production, off elsewhere (devstack's Tansu has no idempotent producer).
    kafka_enable_idempotence: bool | None = None
    kafka_request_timeout_ms: int = 5000
    relay_enabled: bool = True
    relay_batch_size: int = 200
    relay_poll_interval_s: float = 1.0
    # Sent outbox rows are kept this long (to look into a delivery), then pruned.
    outbox_retention_s: float = 7 * 24 * 3600
    outbox_prune_interval_s: float = 3600
    # A broker that comes back empty (privacy_kit.redelivery): the relay asks every so often
    # whether it was reset, then sends again what it sent within the window (at most the
    # retention above), after a pause in which the consumers notice the empty log and rewind.
    relay_reset_check_s: float = 5.0
    relay_republish_window_s: float = 24 * 3600
    relay_reset_pause_s: float = 12.0
    consumers_enabled: bool = True
    # A failing event is tried again in place only briefly (0.05 s, then 0.1 s), then parked
    # in the dead letters so the rest of its partition is not held up.
    consumer_max_retries: int = 2
    # O25: copies on the `.dlq` topics expire after this long (their `retention.ms`, set when
    # the topic is created): records on a topic cannot be erased one by one. The dead_letter
    # row, which the kit erases with the subject, is what an operator works from. 0: broker's.
    dlq_retention_s: float = 7 * 24 * 3600
    consumer_retry_backoff_s: float = 0.05
    # Every so often the consumer asks for the log ends: lag, broker contact, lost logs.
    consumer_position_check_s: float = 5.0
    # Health says degraded when the broker has not answered for this long, or the lag is larger.
    consumer_stale_after_s: float = 30.0
    consumer_max_lag: int = 10_000
    # How long the broker may hold a fetch with no new data: the floor of event latency.
    consumer_fetch_max_wait_ms: int = 25
    # Records taken per fetch; each partition's share is handled in one transaction.
    consumer_batch_size: int = 200
    # Partitions' batches handled at once, each on a pooled connection of its own.
    consumer_parallel_partitions: int = 2

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

    # Calls between services (e.g. subject-rights asking every store's export) carry a short
    # token of role `service` signed with this secret, which no person's token can imitate.
    service_token_secret: str = DEV_SERVICE_SECRET
    service_token_ttl_s: int = 300
    training_records_url: str = "http://127.0.0.1:8001"
    consent_url: str = "http://127.0.0.1:8002"
    retention_url: str = "http://127.0.0.1:8003"
    breach_url: str = "http://127.0.0.1:8004"
    subject_rights_url: str = "http://127.0.0.1:8005"

    # Mail to people (privacy_kit.messages): sent through SMTP when set, kept for staff otherwise.
    smtp_url: str = ""
    smtp_from: str = "Privacy Suite <privacy@localhost>"
    smtp_poll_interval_s: float = 5.0
    smtp_max_attempts: int = 10

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
    # Every span as one JSON line in this file (devstack: `python -m devstack trace`).
    otel_traces_file: str = ""
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    # Addresses (or CIDRs, comma-separated, "*" for all) of the proxies in front of this
    # process whose X-Forwarded-For / -Proto are believed. Empty: nobody's; the client
    # address is the TCP peer. Run uvicorn with --no-proxy-headers so this is the only place.
    trusted_proxies: str = ""

    @property
    def store_urls(self) -> dict[str, str]:
        """Base URL of each store, by store name."""
        return {
            "training-records": self.training_records_url,
            "consent": self.consent_url,
            "retention": self.retention_url,
            "breach": self.breach_url,
            "subject-rights": self.subject_rights_url,
        }

    # Idempotency-Key: how long a first answer is kept for retries, and how long a retry
    # waits for a first request that is still running before running itself.
    idempotency_ttl_s: int = 24 * 3600
    idempotency_lease_s: int = 60

    # The language of answers when `Accept-Language` asks for neither Dutch nor English.
    default_language: Literal["nl", "en"] = "en"

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"{self.topic_prefix}{self.service_name}"

    @property
    def kafka_idempotent_producer(self) -> bool:
        if self.kafka_enable_idempotence is None:
            return self.environment == "production"
        return self.kafka_enable_idempotence

    @property
    def kafka_creates_topics(self) -> bool:
        if self.kafka_create_topics is None:
            return self.environment != "production"
        return self.kafka_create_topics

    @model_validator(mode="after")
    def _kafka_credentials_complete(self) -> ServiceSettings:
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()
        ):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError("mutual TLS needs both KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> ServiceSettings:
        if self.environment == "production":
            if self.jwt_algorithm == "HS256" and (reason := weak_secret(self.jwt_secret)):
                raise ValueError(
                    f"production refuses this JWT_SECRET: it {reason}; set a random secret of "
                    f"at least {MIN_SECRET_BYTES} bytes or use RS256 with OIDC_ISSUER_URL or JWKS_URL"
                )
            if reason := weak_secret(self.service_token_secret, (DEV_SERVICE_SECRET,)):
                raise ValueError(
                    f"production refuses this SERVICE_TOKEN_SECRET: it {reason}; set a random "
                    f"secret of at least {MIN_SECRET_BYTES} bytes"
                )
            if self.jwt_algorithm == "RS256" and not (self.jwks_url or self.oidc_issuer_url):
                raise ValueError("RS256 needs JWKS_URL or OIDC_ISSUER_URL")
            if not (self.jwt_issuer or self.oidc_issuer_url) or not self.jwt_audience:
                raise ValueError("production needs JWT_ISSUER (or OIDC_ISSUER_URL) and "
                                 "JWT_AUDIENCE: tokens of another issuer or meant for another "
                                 "audience must be refused")
            if not 0 < self.jwt_max_lifetime_s <= 7 * 24 * 3600:
                raise ValueError("JWT_MAX_LIFETIME_S must be between 1 s and 7 days")
        return self
