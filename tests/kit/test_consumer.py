"""The idempotent consumer: once-only effects, bounded retries, dead letters in /healthz."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer

from devstack.testing import Suite, app_client, read_events, wait_for
from privacy_kit.app import create_app
from privacy_kit.consumer import on, subscribe
from privacy_kit.events import Envelope, Topic, dlq
from privacy_kit.protocol import Event, Payload, envelope
from privacy_kit.settings import ServiceSettings


class Count(Payload):
    TYPE = "test.count"
    TOPIC = Topic.SUBJECT

    by: int


class Poison(Payload):
    TYPE = "test.poison"
    TOPIC = Topic.SUBJECT


async def _count(conn: asyncpg.Connection, event: Event[Count]) -> None:
    await conn.execute("UPDATE counter SET n = n + $1", event.payload.by)


async def _poison(conn: asyncpg.Connection, event: Event[Poison]) -> None:
    # Its half-done effect goes with it; the events handled with it in one batch stay.
    await conn.execute("UPDATE counter SET n = n + 1000")
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
        subscriptions=subscribe(on(Count, _count), on(Poison, _poison)),
    )
    topic = suite.topic(Topic.SUBJECT)
    counted = envelope(Count(by=1), source="test", subject_id="s1")
    poison = envelope(Poison(), source="test", subject_id="s1")
    # A newer major version this consumer does not read, and a payload that does not fit.
    future = envelope(Count(by=100), source="test", subject_id="s1").model_copy(update={"version": 2})
    misshapen = Envelope(type="test.count", source="test", subject_id="s1", data={"by": "many"})
    after = envelope(Count(by=10), source="test", subject_id="s1")

    async with app_client(app) as client:
        producer = AIOKafkaProducer(bootstrap_servers=suite.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            # `counted` is delivered twice
            for event in (counted, counted, poison, future, misshapen, after):
                await producer.send_and_wait(topic, event.model_dump_json().encode(), key=b"s1")
        finally:
            await producer.stop()

        async def counter() -> int:
            async with app.state.pool.acquire() as conn:
                return int(await conn.fetchval("SELECT n FROM counter"))

        assert await wait_for(lambda: _equals(counter, 11), what="both distinct events applied")
        assert await counter() == 11  # 1 once (not twice) + 10 after the poison, not its 1000
        async with app.state.pool.acquire() as conn:
            handled = await conn.fetchval(
                "SELECT count(*) FROM processed_event WHERE consumer = 'counter'")
        assert handled == 2  # the poison and the unreadable ones are dead letters, not handled

        health = (await client.get("/healthz")).json()
        assert health["dead_letters"] == 3
        dead = await read_events(suite.kafka_bootstrap, dlq(topic), expect=3)
        assert [e.id for e in dead] == [poison.id, future.id, misshapen.id]
        async with app.state.pool.acquire() as conn:
            rows = await conn.fetch("SELECT event_type, error FROM dead_letter ORDER BY id")
        assert [r["event_type"] for r in rows] == ["test.poison", "test.count", "test.count"]
        assert "always fails" in rows[0]["error"]
        assert "version 2 is not read here" in rows[1]["error"]
        assert "invalid payload" in rows[2]["error"]


async def _equals(probe, expected: int) -> bool:
    return await probe() == expected


async def test_events_sent_as_one_batch_are_not_read_again_once_the_consumer_is_idle(
    suite: Suite, tmp_path: Path
) -> None:
    """Tansu names the log end as the last record batch's first offset plus one; a consumer
    that trusted that alone took a caught-up position for a lost topic and read the whole
    topic again at its next check (a warning, and every event looked up once more)."""
    migrations = tmp_path / "counter"
    migrations.mkdir()
    (migrations / "0001.sql").write_text("CREATE TABLE counter (n int); INSERT INTO counter VALUES (0);")
    dsn = await suite.new_database("batched")
    settings = ServiceSettings(**{**suite.env(dsn, "batched"), "consumer_position_check_s": 0.1})
    app = create_app(settings, title="batched", migrations=migrations,
                     subscriptions=subscribe(on(Count, _count)))
    topic = suite.topic(Topic.SUBJECT)
    async with app_client(app) as client:
        producer = AIOKafkaProducer(bootstrap_servers=suite.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            # Sent without waiting in between: one batch of five records on the wire.
            sent = [await producer.send(topic, envelope(Count(by=1), source="test",
                                                        subject_id="s1").model_dump_json().encode(),
                                        key=b"s1") for _ in range(5)]
            offsets = [(await ack).offset for ack in sent]
        finally:
            await producer.stop()
        assert offsets == [0, 1, 2, 3, 4]

        async def counter() -> int:
            async with app.state.pool.acquire() as conn:
                return int(await conn.fetchval("SELECT n FROM counter"))

        await wait_for(lambda: _equals(counter, 5), what="the batch applied")
        consumer = app.state.consumer
        # Idle past several position checks (each one asks the broker, so marks contact).
        caught_up = consumer.last_contact
        await wait_for(lambda: _after(consumer, caught_up + 1.0), what="position checks to pass")
        health = (await client.get("/healthz")).json()["consumer"]
        assert health["rewinds"] == 0 and health["lag"] == 0, health
        assert await counter() == 5


async def _after(consumer, moment: float) -> bool:
    return bool(consumer.last_contact >= moment)
