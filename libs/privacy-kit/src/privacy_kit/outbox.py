"""The transactional outbox and its relay: nothing lost when the broker is down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import propagate

from privacy_kit.events import Envelope
from privacy_kit.kafka import new_producer, topic_name
from privacy_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "outbox"


async def emit(conn: asyncpg.Connection, topic: str, event: Envelope, *, key: str | None = None) -> None:
    """Write an event into the outbox inside the caller's transaction.

    The key defaults to the subject, else the tenant, so one person's events stay in order.
    """
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    await conn.execute(
        """INSERT INTO outbox (id, topic, key, envelope, traceparent)
           VALUES ($1, $2, $3, $4::jsonb, $5)""",
        event.id,
        topic,
        key or event.subject_id or event.tenant_id,
        event.model_dump_json(),
        carrier.get("traceparent"),
    )
    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")


async def backlog(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))


class OutboxRelay:
    """Publishes unsent outbox rows. Replicas claim rows with FOR UPDATE SKIP LOCKED."""

    def __init__(self, settings: ServiceSettings, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.pool = pool
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self.last_error: str | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self, *_: Any) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        try:
            self._listener = await self.pool.acquire()
            await self._listener.add_listener(NOTIFY_CHANNEL, self.wake)
        except Exception as exc:  # polling still works without the notification
            log.warning("outbox relay could not LISTEN (%s); polling only", exc)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self.settings)
            try:
                await producer.start()
            except Exception:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _run(self) -> None:
        await self._listen()
        backoff = self.settings.relay_poll_interval_s
        while True:
            try:
                while await self.publish_batch() > 0:
                    pass
                backoff = self.settings.relay_poll_interval_s
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("outbox relay cannot publish yet: %s", self.last_error)
                backoff = min(backoff * 2, 10.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)

    async def publish_batch(self) -> int:
        """Publish one batch; the rows are marked sent only after the broker acknowledged."""
        producer = await self._ensure_producer()
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT seq, topic, key, envelope::text AS envelope, traceparent
                   FROM outbox WHERE sent_at IS NULL ORDER BY seq
                   LIMIT $1 FOR UPDATE SKIP LOCKED""",
                self.settings.relay_batch_size,
            )
            if not rows:
                return 0
            futures = []
            for row in rows:
                headers = [("traceparent", row["traceparent"].encode())] if row["traceparent"] else []
                futures.append(
                    await producer.send(
                        topic_name(self.settings, row["topic"]),
                        value=row["envelope"].encode(),
                        key=row["key"].encode() if row["key"] else None,
                        headers=headers,
                    )
                )
            await asyncio.gather(*futures)
            await conn.execute(
                "UPDATE outbox SET sent_at = now(), attempts = attempts + 1 WHERE seq = ANY($1)",
                [row["seq"] for row in rows],
            )
            return len(rows)
