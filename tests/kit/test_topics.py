"""The one-shot topics step that runs before the services in production."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from devstack.testing import Suite
from privacy_kit import topics
from privacy_kit.kafka import ensure_topics
from privacy_kit.settings import ServiceSettings


async def test_topics_step_creates_every_family_with_its_partitions_once(
    suite: Suite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"top{uuid.uuid4().hex[:6]}."
    for name, value in {"KAFKA_BOOTSTRAP_SERVERS": suite.kafka_bootstrap, "TOPIC_PREFIX": prefix,
                        "TOPIC_PARTITIONS": "3"}.items():
        monkeypatch.setenv(name, value)
    settings = ServiceSettings()

    assert await topics.run(settings, check=True, wait_s=10) == 1  # nothing there yet
    assert f"{prefix}privacy.erasure: missing" in capsys.readouterr().out
    assert await topics.run(settings, check=False, wait_s=10) == 0
    assert f"{prefix}privacy.erasure: created (partitions 3, replication 1)" in capsys.readouterr().out
    assert await topics.run(settings, check=True, wait_s=10) == 0  # a second run finds them all
    assert await ensure_topics(settings, create=False) == []

    consumer = AIOKafkaConsumer(bootstrap_servers=suite.kafka_bootstrap)
    await consumer.start()
    try:
        assert await consumer.topics() >= {f"{prefix}privacy.erasure", f"{prefix}privacy.erasure.dlq"}
        assert consumer.partitions_for_topic(f"{prefix}privacy.erasure") == {0, 1, 2}
        assert consumer.partitions_for_topic(f"{prefix}privacy.erasure.dlq") == {0}
    finally:
        await consumer.stop()


async def test_topics_step_gives_up_when_the_broker_never_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1", kafka_request_timeout_ms=500)
    assert await topics.run(settings, check=False, wait_s=0) == 2
    assert "broker unreachable" in capsys.readouterr().err
