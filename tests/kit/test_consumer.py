"""The idempotent consumer: once-only effects, bounded retries, dead letters in /healthz."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer

from devstack.testing import Suite, app_client, read_events, wait_for
from privacy_kit.app import create_app
from privacy_kit.consumer import Subscription
from privacy_kit.events import Envelope, Topic, dlq
from privacy_kit.settings import ServiceSettings


async def _count(conn: asyncpg.Connection, event: Envelope) -> None:
    await conn.execute("UPDATE counter SET n = n + $1", event.data["by"])


async def _poison(conn: asyncpg.Connection, event: Envelope) -> None:
    raise ValueError("this handler always fails")


async def test_redelivery_changes_state_once_and_poison_goes_to_dead_letter_topic(
    suite: Suite, tmp_path: Path
) -> None:
    migrations = tmp_path / "counter"
    migrations.mkdir()
    (migrations / "0001.sql").write_text("CREATE TABLE counter (n int); INSERT INTO counter VALUES (0);")
    dsn = await suite.new_database("consumer")
    settings = ServiceSettings(**{**suite.env(dsn, "counter"), "consumer_max_retries": 2})
    app = create_app(
        settings,
        title="counter",
        migrations=migrations,
        subscriptions=[Subscription(Topic.SUBJECT, {"test.count": _count, "test.poison": _poison})],
    )
    topic = suite.topic(Topic.SUBJECT)
    counted = Envelope(type="test.count", source="test", subject_id="s1", data={"by": 1})
    poison = Envelope(type="test.poison", source="test", subject_id="s1")
    after = Envelope(type="test.count", source="test", subject_id="s1", data={"by": 10})

    async with app_client(app) as client:
        producer = AIOKafkaProducer(bootstrap_servers=suite.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for event in (counted, counted, poison, after):  # `counted` is delivered twice
                await producer.send_and_wait(topic, event.model_dump_json().encode(), key=b"s1")
        finally:
            await producer.stop()

        async def counter() -> int:
            async with app.state.pool.acquire() as conn:
                return int(await conn.fetchval("SELECT n FROM counter"))

        assert await wait_for(lambda: _equals(counter, 11), what="both distinct events applied")
        assert await counter() == 11  # 1 once (not twice) + 10 after the poison

        health = (await client.get("/healthz")).json()
        assert health["dead_letters"] == 1
        dead = await read_events(suite.kafka_bootstrap, dlq(topic), expect=1)
        assert [e.id for e in dead] == [poison.id]
        async with app.state.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT event_type, error FROM dead_letter")
        assert row["event_type"] == "test.poison"
        assert "always fails" in row["error"]


async def _equals(probe, expected: int) -> bool:
    return await probe() == expected
