"""Kafka plumbing: how every client connects (TLS, SASL), topic names, topic creation, producers."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from privacy_kit.events import Topic, dlq
from privacy_kit.settings import ServiceSettings

log = logging.getLogger(__name__)


def kafka_connection(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client: servers, TLS and SASL, from the settings.

    Every producer, consumer and admin client in the suite is built with these, so a managed
    cluster (SASL_SSL with SCRAM, or mutual TLS) needs settings only, never code.
    """
    protocol = settings.kafka_security_protocol
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": protocol,
    }
    if protocol in ("SSL", "SASL_SSL"):
        context = create_ssl_context(
            cafile=settings.kafka_ssl_cafile or None,
            certfile=settings.kafka_ssl_certfile or None,
            keyfile=settings.kafka_ssl_keyfile or None,
        )
        context.check_hostname = settings.kafka_ssl_check_hostname
        kwargs["ssl_context"] = context
    if protocol.startswith("SASL"):
        kwargs.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password.get_secret_value(),
        )
    return kwargs


def topic_name(settings: ServiceSettings, topic: str) -> str:
    return f"{settings.topic_prefix}{topic}"


def wanted_topics(settings: ServiceSettings, topics: tuple[str, ...] = Topic.ALL) -> list[NewTopic]:
    """Every topic family with its partitions, and its dead-letter topic (one partition)."""
    configs = {}
    if settings.topic_min_insync_replicas:
        configs["min.insync.replicas"] = str(settings.topic_min_insync_replicas)
    wanted = []
    for family in topics:
        name = topic_name(settings, family)
        for topic, partitions in ((name, settings.topic_partitions), (dlq(name), 1)):
            extra = {}
            if topic != name and settings.dlq_retention_s > 0:
                # O25: a .dlq copy cannot be deleted record by record; it expires instead.
                extra["retention.ms"] = str(int(settings.dlq_retention_s * 1000))
            wanted.append(NewTopic(topic, partitions, settings.topic_replication_factor,
                                   topic_configs={**configs, **extra}))
    return wanted


async def ensure_topics(
    settings: ServiceSettings, topics: tuple[str, ...] = Topic.ALL, *, create: bool = True
) -> list[str]:
    """Create the missing topic families and their dead-letter topics (existing ones are left
    alone); with `create=False` only look. Returns the names that were missing."""
    admin = AIOKafkaAdminClient(
        **kafka_connection(settings), request_timeout_ms=settings.kafka_request_timeout_ms
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted_topics(settings, topics) if t.name not in existing]
        if missing and create:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another replica was quicker
        return [t.name for t in missing]
    finally:
        await admin.close()


def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **kafka_connection(settings),
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        linger_ms=0,
    )
