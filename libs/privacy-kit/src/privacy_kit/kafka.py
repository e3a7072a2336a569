"""Kafka plumbing: topic names with their prefix, topic creation, producers that may wait."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from privacy_kit.events import Topic, dlq
from privacy_kit.settings import ServiceSettings

log = logging.getLogger(__name__)


def topic_name(settings: ServiceSettings, topic: str) -> str:
    return f"{settings.topic_prefix}{topic}"


async def ensure_topics(settings: ServiceSettings, topics: tuple[str, ...] = Topic.ALL) -> None:
    """Create the topic families and their dead-letter topics; existing ones are left alone."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [topic_name(settings, t) for t in topics]
        wanted += [dlq(name) for name in wanted]
        missing = [
            NewTopic(name, settings.topic_partitions if not name.endswith(".dlq") else 1, 1)
            for name in wanted
            if name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another replica was quicker
    finally:
        await admin.close()


def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        linger_ms=0,
    )
