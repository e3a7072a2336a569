"""The transactional outbox and its relay, on real PostgreSQL and the real broker."""

from __future__ import annotations

import asyncpg
import pytest

from devstack.infra import Tansu
from devstack.testing import Suite, read_events, wait_for
from privacy_kit.db import create_pool, migrate
from privacy_kit.events import Envelope, Topic
from privacy_kit.outbox import OutboxRelay, emit
from privacy_kit.provider import forget_subject_events
from privacy_kit.settings import ServiceSettings


async def _pool(suite: Suite) -> asyncpg.Pool:
    dsn = await suite.new_database("outbox")
    await migrate(dsn)
    return await create_pool(dsn)


def _event(n: int) -> Envelope:
    return Envelope(type="test.happened", source="test", subject_id=f"subject-{n}", data={"n": n})


async def test_rolled_back_write_publishes_nothing(suite: Suite) -> None:
    pool = await _pool(suite)
    settings = ServiceSettings(**suite.env(suite.admin_dsn, "outbox-test"))
    relay = OutboxRelay(settings, pool)
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await emit(conn, Topic.SUBJECT, _event(1))
            raise RuntimeError("the change failed")
    async with pool.acquire() as conn, conn.transaction():
        await emit(conn, Topic.SUBJECT, _event(2))

    assert await relay.publish_batch() == 1
    events = await read_events(suite.kafka_bootstrap, suite.topic(Topic.SUBJECT), expect=2, timeout=3)
    assert [e.data["n"] for e in events] == [2]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    await relay.stop()
    await pool.close()


async def test_writes_succeed_while_broker_is_down_and_arrive_after(suite: Suite, tmp_path) -> None:
    broker = Tansu(log_file=tmp_path / "tansu.log")
    pool = await _pool(suite)
    settings = ServiceSettings(
        **{**suite.env(suite.admin_dsn, "outbox-test"), "kafka_bootstrap_servers": broker.bootstrap,
           "kafka_request_timeout_ms": 1000}
    )
    relay = OutboxRelay(settings, pool)
    await relay.start()
    try:
        for n in range(5):  # the broker is not running: the writes must still commit
            async with pool.acquire() as conn, conn.transaction():
                await emit(conn, Topic.SUBJECT, _event(n))
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 5
        await wait_for(lambda: _has_error(relay), what="the relay to notice the broker is down")

        broker.start()
        events = await read_events(broker.bootstrap, suite.topic(Topic.SUBJECT), expect=5, timeout=30)
        assert sorted(e.data["n"] for e in events) == [0, 1, 2, 3, 4]
        async with pool.acquire() as conn:
            await wait_for(
                lambda: _unsent_is_zero(conn), what="the outbox to be drained", timeout=10
            )
    finally:
        await relay.stop()
        broker.stop()
        await pool.close()


async def _has_error(relay: OutboxRelay) -> bool:
    return relay.last_error is not None


async def _unsent_is_zero(conn: asyncpg.Connection) -> bool:
    return await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


async def test_o25_erasure_forgets_the_subjects_events_sent_or_waiting(suite: Suite) -> None:
    pool = await _pool(suite)
    settings = ServiceSettings(**suite.env(suite.admin_dsn, "outbox-test"))
    relay = OutboxRelay(settings, pool)
    async with pool.acquire() as conn, conn.transaction():
        await emit(conn, Topic.SUBJECT, _event(1))  # subject-1, published below
    assert await relay.publish_batch() == 1
    async with pool.acquire() as conn, conn.transaction():
        await emit(conn, Topic.SUBJECT, _event(1))  # subject-1, still waiting for the relay
        await emit(conn, Topic.SUBJECT, _event(2))  # someone else

    async with pool.acquire() as conn, conn.transaction():
        assert await forget_subject_events(conn, "subject-1") == 2
    async with pool.acquire() as conn:
        left = await conn.fetch("SELECT envelope->>'subject_id' AS s FROM outbox")
    assert [r["s"] for r in left] == ["subject-2"]
    await relay.stop()
    await pool.close()
