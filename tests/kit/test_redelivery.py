"""A broker that comes back empty: the relay notices and sends again what it had sent
(privacy_kit.redelivery), on real PostgreSQL and a real Tansu restarted on the same port."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from devstack.infra import Tansu
from devstack.testing import Suite, read_events, wait_for
from privacy_kit.db import create_pool, migrate
from privacy_kit.events import Envelope, Topic, dlq
from privacy_kit.kafka import ensure_topics
from privacy_kit.outbox import OutboxRelay, write_envelope
from privacy_kit.redelivery import BrokerWatch, republish_since
from privacy_kit.settings import ServiceSettings


def _event(n: int) -> Envelope:
    return Envelope(type="test.happened", source="test", subject_id=f"subject-{n}", data={"n": n})


async def test_a_broker_restarted_empty_gets_every_sent_event_again(
    suite: Suite, tmp_path: Path
) -> None:
    broker = Tansu(log_file=tmp_path / "tansu.log").start()
    dsn = await suite.new_database("redelivery")
    await migrate(dsn)
    pool = await create_pool(dsn)
    settings = ServiceSettings(**{
        **suite.env(dsn, "redelivery-test"), "kafka_bootstrap_servers": broker.bootstrap,
        "kafka_request_timeout_ms": 1000, "topic_partitions": 2,
        "relay_reset_check_s": 0.3, "relay_reset_pause_s": 0.2})
    topic = suite.topic(Topic.SUBJECT)
    relay = OutboxRelay(settings, pool)
    try:
        await ensure_topics(settings)
        await relay.start()
        async with pool.acquire() as conn, conn.transaction():
            for n in range(5):
                await write_envelope(conn, Topic.SUBJECT, _event(n))
        await read_events(broker.bootstrap, topic, expect=5, timeout=20)

        broker.stop()
        broker.start()  # same port, nothing kept, a new cluster id
        async with pool.acquire() as conn, conn.transaction():
            await write_envelope(conn, Topic.SUBJECT, _event(5))

        seen: set[str] = set()

        def first_copy(event: Envelope) -> bool:
            new = str(event.id) not in seen
            seen.add(str(event.id))
            return new

        events = await read_events(broker.bootstrap, topic, expect=6, timeout=30,
                                   match=first_copy)
        assert sorted(e.data["n"] for e in events) == [0, 1, 2, 3, 4, 5]
        assert relay.watch.resets >= 1
        assert "cluster id changed" in relay.watch.last_reset["reason"]
        # The topics came back as configured, their dead-letter twins with them.
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            described = {t["topic"]: len(t["partitions"])
                         for t in await admin.describe_topics([topic, dlq(topic)])}
        finally:
            await admin.close()
        assert described[dlq(topic)] == 1
        assert described[topic] >= 1
        async with pool.acquire() as conn:
            await wait_for(lambda: _drained(conn), what="the outbox to drain again", timeout=10)
    finally:
        await relay.stop()
        broker.stop()
        await pool.close()


async def _drained(conn: asyncpg.Connection) -> bool:
    return await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


async def test_republish_since_puts_only_the_window_back_in_line(suite: Suite) -> None:
    dsn = await suite.new_database("republish")
    await migrate(dsn)
    pool = await create_pool(dsn)
    try:
        async with pool.acquire() as conn:
            for n in range(3):
                await write_envelope(conn, Topic.SUBJECT, _event(n))
            await conn.execute("UPDATE outbox SET sent_at = now() - interval '2 hours' "
                               "WHERE subject_id = 'subject-0'")
            await conn.execute("UPDATE outbox SET sent_at = now() WHERE subject_id = 'subject-1'")
            assert await republish_since(conn, window_s=3600) == 1
            unsent = await conn.fetch("SELECT subject_id FROM outbox WHERE sent_at IS NULL "
                                      "ORDER BY seq")
        assert [r["subject_id"] for r in unsent] == ["subject-1", "subject-2"]
    finally:
        await pool.close()


def test_an_acknowledgement_below_an_earlier_one_is_a_reset() -> None:
    watch = BrokerWatch(ServiceSettings())

    def md(partition: int, offset: int) -> SimpleNamespace:
        return SimpleNamespace(topic="t", partition=partition, offset=offset)

    watch.acknowledged([md(0, 10), md(0, 11), md(1, 3)])
    watch.acknowledged([md(0, 12), md(0, 13)])
    assert watch._went_back is None
    watch.acknowledged([md(0, 0)])  # the log of t[0] starts again
    assert watch.due() and watch._went_back is not None
    assert "t[0]" in watch._went_back
