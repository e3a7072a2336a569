"""The transactional outbox and its relay: nothing lost when the broker is down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from opentelemetry import propagate

from privacy_kit.db import rows_affected
from privacy_kit.events import Envelope
from privacy_kit.kafka import topic_name
from privacy_kit.protocol import Payload, envelope
from privacy_kit.redelivery import BrokerWatch
from privacy_kit.settings import ServiceSettings
from privacy_kit.worker import LazyProducer, Worker, listen, unlisten, wait_until_set

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "outbox"


async def emit(
    conn: asyncpg.Connection,
    payload: Payload,
    *,
    source: str,
    subject_id: str | None = None,
    tenant_id: str | None = None,
    correlation_id: str | None = None,
    key: str | None = None,
) -> Envelope:
    """Write an event into the outbox inside the caller's transaction; returns its envelope.

    The topic is the payload's; the key defaults to the subject, else the tenant, so one
    person's events stay in order.
    """
    event = envelope(payload, source=source, subject_id=subject_id, tenant_id=tenant_id,
                     correlation_id=correlation_id)
    await write_envelope(conn, payload.TOPIC, event, key=key)
    return event


async def emit_many(
    conn: asyncpg.Connection,
    payloads: Sequence[Payload],
    *,
    source: str,
    tenant_ids: Sequence[str | None] | None = None,
    subject_ids: Sequence[str | None] | None = None,
    correlation_id: str | None = None,
) -> list[Envelope]:
    """Many events in one statement (e.g. one per tenant a breach affects), as `emit` writes
    each: same topic rule, key = subject, else tenant. `tenant_ids`/`subject_ids` run parallel
    to `payloads`."""
    if not payloads:
        return []
    tenants = list(tenant_ids) if tenant_ids is not None else [None] * len(payloads)
    subjects = list(subject_ids) if subject_ids is not None else [None] * len(payloads)
    if not len(tenants) == len(subjects) == len(payloads):
        raise ValueError("tenant_ids and subject_ids must run parallel to payloads")
    events = [envelope(p, source=source, subject_id=s, tenant_id=t, correlation_id=correlation_id)
              for p, t, s in zip(payloads, tenants, subjects, strict=True)]
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    await conn.execute(
        """INSERT INTO outbox (id, topic, key, envelope, traceparent, subject_id, tenant_id)
           SELECT i, tp, k, e::jsonb, $5, s, t
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $6::text[], $7::text[])
                AS x(i, tp, k, e, s, t)""",
        [e.id for e in events], [p.TOPIC for p in payloads],
        [e.subject_id or e.tenant_id for e in events], [e.model_dump_json() for e in events],
        carrier.get("traceparent"), subjects, tenants,
    )
    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    return events


async def write_envelope(
    conn: asyncpg.Connection, topic: str, event: Envelope, *, key: str | None = None
) -> None:
    """The outbox row of an already built envelope (protocol events go through `emit`)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    # The row and the relay's wake-up (sent at commit) in one round trip.
    await conn.execute(
        f"""INSERT INTO outbox (id, topic, key, envelope, traceparent, subject_id, tenant_id)
            SELECT $1::uuid, $2::text, $3::text, $4::jsonb, $5::text, $6::text, $7::text
            FROM (SELECT pg_notify('{NOTIFY_CHANNEL}', '')) AS wake""",
        event.id,
        topic,
        key or event.subject_id or event.tenant_id,
        event.model_dump_json(),
        carrier.get("traceparent"),
        event.subject_id,
        event.tenant_id,
    )


async def forget_subject_events(conn: asyncpg.Connection, subject_id: str) -> int:
    """Forget the outbox events that name an erased subject, published or not yet.

    An event still waiting for the relay is about someone who no longer exists here, so it is
    not sent after the erasure either. A row the relay holds while publishing is deleted once
    the relay's transaction ends (the DELETE waits for its row lock).
    """
    return rows_affected(await conn.execute("DELETE FROM outbox WHERE subject_id = $1", subject_id))


async def forget_tenant_events(
    conn: asyncpg.Connection, tenant_id: str, *, keep_subjects: list[str] | None = None
) -> int:
    """Forget the outbox events about an erased tenant and its people (but those on hold)."""
    return rows_affected(await conn.execute(
        """DELETE FROM outbox WHERE tenant_id = $1
           AND (subject_id IS NULL OR NOT (subject_id = ANY($2::text[])))""",
        tenant_id, keep_subjects or [],
    ))


async def prune_sent(conn: asyncpg.Connection, *, older_than_s: float) -> int:
    """Delete events the broker acknowledged more than `older_than_s` seconds ago."""
    return rows_affected(await conn.execute(
        "DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => $1)", older_than_s
    ))


class OutboxRelay(Worker):
    """Publishes unsent outbox rows. Replicas claim rows with FOR UPDATE SKIP LOCKED."""

    task_name = "outbox-relay"

    def __init__(self, settings: ServiceSettings, pool: asyncpg.Pool) -> None:
        super().__init__()
        self.settings = settings
        self.pool = pool
        self.producer = LazyProducer(settings)
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._next_prune = 0.0
        self.pruning: dict[str, Any] = {"last_run_at": None, "pruned": 0, "last_error": None}
        self.watch = BrokerWatch(settings)
        self._suspect = False  # a publish failed: ask whether the broker was reset first

    async def _close(self) -> None:
        await unlisten(self.pool, self._listener, NOTIFY_CHANNEL, self.wake)
        await self.producer.stop()
        await self.watch.close()

    def wake(self, *_: Any) -> None:
        self._wake.set()

    async def _run(self) -> None:
        self._listener = await listen(self.pool, NOTIFY_CHANNEL, self.wake, log)
        backoff = self.settings.relay_poll_interval_s
        while True:
            try:
                await self._after_broker_reset()
                while await self.publish_batch() > 0:
                    pass
                backoff = self.settings.relay_poll_interval_s
                self.last_error = None
                await self._prune_when_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("outbox relay cannot publish yet: %s", self.last_error)
                self._suspect = True
                backoff = min(backoff * 2, 10.0)
            self._wake.clear()
            await wait_until_set(self._wake, backoff)

    async def _after_broker_reset(self) -> None:
        """Before publishing (after a failure, else every `relay_reset_check_s`): was the
        broker reset? Then topics first, the window's events queued again, and a pause in
        which the consumers find their positions beyond the new log and rewind
        (privacy_kit.redelivery)."""
        if not (self._suspect or self.watch.due()):
            return
        reason = await self.watch.reset_reason()
        self._suspect = False
        if reason is not None:
            await self.watch.recover(self.pool, reason)
            await asyncio.sleep(self.settings.relay_reset_pause_s)

    async def _prune_when_due(self) -> None:
        """Sent rows are kept for `outbox_retention_s` (to look into), then deleted."""
        now = asyncio.get_running_loop().time()
        if now < self._next_prune:
            return
        self._next_prune = now + self.settings.outbox_prune_interval_s
        try:
            async with self.pool.acquire() as conn:
                pruned = await prune_sent(conn, older_than_s=self.settings.outbox_retention_s)
            self.pruning = {"last_run_at": datetime.now(UTC).isoformat(),
                            "pruned": self.pruning["pruned"] + pruned, "last_error": None}
        except Exception as exc:
            self.pruning = {**self.pruning, "last_error": f"{type(exc).__name__}: {exc}"}
            log.warning("outbox pruning failed: %s", exc)

    async def publish_batch(self) -> int:
        """Publish one batch; the rows are marked sent only after the broker acknowledged.

        When the broker refuses, the claimed rows keep their place and record the attempt and
        the error, so a stuck event can be seen for what it is.
        """
        producer = await self.producer.get()
        claimed: list[int] = []
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    """SELECT seq, topic, key, envelope::text AS envelope, traceparent
                       FROM outbox WHERE sent_at IS NULL ORDER BY seq
                       LIMIT $1 FOR UPDATE SKIP LOCKED""",
                    self.settings.relay_batch_size,
                )
                if not rows:
                    return 0
                claimed = [row["seq"] for row in rows]
                futures = []
                for row in rows:
                    headers = (
                        [("traceparent", row["traceparent"].encode())] if row["traceparent"] else []
                    )
                    futures.append(
                        await producer.send(
                            topic_name(self.settings, row["topic"]),
                            value=row["envelope"].encode(),
                            key=row["key"].encode() if row["key"] else None,
                            headers=headers,
                        )
                    )
                self.watch.acknowledged(await asyncio.gather(*futures))
                # Marking rows sent need not wait for the disk: should the mark be lost in a
                # crash, the rows are sent again and consumers skip them by their event id.
                await conn.execute("SET LOCAL synchronous_commit TO off")
                await conn.execute(
                    """UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL
                       WHERE seq = ANY($1)""",
                    claimed,
                )
                return len(rows)
        except Exception as exc:
            if claimed:
                await self._record_failure(claimed, f"{type(exc).__name__}: {exc}")
            raise

    async def _record_failure(self, claimed: list[int], error: str) -> None:
        with contextlib.suppress(Exception):
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = ANY($1)",
                    claimed, error[:2000],
                )
