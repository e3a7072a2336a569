"""The transactional outbox and its relay, on real PostgreSQL and the real broker."""

from __future__ import annotations

import asyncpg
import pytest

from devstack.infra import Tansu
from devstack.testing import Suite, read_events, wait_for
from privacy_kit.db import create_pool, migrate
from privacy_kit.events import Envelope, Topic
from privacy_kit.outbox import (
    OutboxRelay,
    forget_subject_events,
    forget_tenant_events,
    prune_sent,
    write_envelope,
)
from privacy_kit.settings import ServiceSettings


async def _pool(suite: Suite) -> asyncpg.Pool:
    dsn = await suite.new_database("outbox")
    await migrate(dsn)
    return await create_pool(dsn)


def _event(n: int, tenant: str | None = None) -> Envelope:
    return Envelope(type="test.happened", source="test", subject_id=f"subject-{n}",
                    tenant_id=tenant, data={"n": n})


async def test_rolled_back_write_publishes_nothing(suite: Suite) -> None:
    pool = await _pool(suite)
    settings = ServiceSettings(**suite.env(suite.admin_dsn, "outbox-test"))
    relay = OutboxRelay(settings, pool)
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await write_envelope(conn, Topic.SUBJECT, _event(1))
            raise RuntimeError("the change failed")
    async with pool.acquire() as conn, conn.transaction():
        await write_envelope(conn, Topic.SUBJECT, _event(2))

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
                await write_envelope(conn, Topic.SUBJECT, _event(n))
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
        await write_envelope(conn, Topic.SUBJECT, _event(1))  # subject-1, published below
    assert await relay.publish_batch() == 1
    async with pool.acquire() as conn, conn.transaction():
        await write_envelope(conn, Topic.SUBJECT, _event(1))  # subject-1, still waiting for the relay
        await write_envelope(conn, Topic.SUBJECT, _event(2))  # someone else

    async with pool.acquire() as conn, conn.transaction():
        assert await forget_subject_events(conn, "subject-1") == 2
    async with pool.acquire() as conn:
        left = await conn.fetch("SELECT envelope->>'subject_id' AS s FROM outbox")
    assert [r["s"] for r in left] == ["subject-2"]
    await relay.stop()
    await pool.close()


async def test_o25_tenant_erasure_forgets_the_tenants_events_but_those_of_held_people(
    suite: Suite,
) -> None:
    pool = await _pool(suite)
    async with pool.acquire() as conn, conn.transaction():
        for n, tenant in ((1, "t-1"), (2, "t-1"), (3, "t-1"), (4, "t-2")):
            await write_envelope(conn, Topic.SUBJECT, _event(n, tenant))
        await write_envelope(conn, Topic.TENANT,
                             Envelope(type="test.tenant", source="test", tenant_id="t-1"))
    async with pool.acquire() as conn, conn.transaction():
        assert await forget_tenant_events(conn, "t-1", keep_subjects=["subject-3"]) == 3
        left = await conn.fetch("SELECT subject_id, tenant_id FROM outbox ORDER BY seq")
    assert [(r["subject_id"], r["tenant_id"]) for r in left] == [
        ("subject-3", "t-1"), ("subject-4", "t-2")]
    await pool.close()


async def test_sent_events_are_pruned_after_their_retention_and_unsent_ones_never(
    suite: Suite,
) -> None:
    pool = await _pool(suite)
    settings = ServiceSettings(**suite.env(suite.admin_dsn, "outbox-test"))
    relay = OutboxRelay(settings, pool)
    async with pool.acquire() as conn, conn.transaction():
        await write_envelope(conn, Topic.SUBJECT, _event(1))
    assert await relay.publish_batch() == 1
    async with pool.acquire() as conn, conn.transaction():
        await write_envelope(conn, Topic.SUBJECT, _event(2))  # not sent yet
        await conn.execute("UPDATE outbox SET sent_at = now() - interval '8 days' "
                           "WHERE sent_at IS NOT NULL")
        assert await prune_sent(conn, older_than_s=7 * 24 * 3600) == 1
        assert await prune_sent(conn, older_than_s=0) == 0
        left = await conn.fetch("SELECT subject_id, sent_at FROM outbox")
    assert [(r["subject_id"], r["sent_at"]) for r in left] == [("subject-2", None)]
    await relay.stop()
    await pool.close()


async def test_a_refused_publish_records_attempts_and_the_error_on_the_rows(
    suite: Suite, tmp_path
) -> None:
    broker = Tansu(log_file=tmp_path / "tansu.log").start()
    pool = await _pool(suite)
    settings = ServiceSettings(
        **{**suite.env(suite.admin_dsn, "outbox-test"), "kafka_bootstrap_servers": broker.bootstrap,
           "kafka_request_timeout_ms": 1000}
    )
    relay = OutboxRelay(settings, pool)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await write_envelope(conn, Topic.SUBJECT, _event(1))
        await relay.producer.get()
        broker.stop()  # the producer exists, the broker is gone: the send itself fails
        with pytest.raises(Exception):  # noqa: B017 - whichever error aiokafka raises
            await relay.publish_batch()
        async with pool.acquire() as conn:
            row = await conn.fetchrow("SELECT attempts, last_error, sent_at FROM outbox")
        assert row["attempts"] == 1 and row["last_error"] and row["sent_at"] is None
    finally:
        await relay.stop()
        broker.stop()
        await pool.close()
