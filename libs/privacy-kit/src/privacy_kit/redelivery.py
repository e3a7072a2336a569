"""After a broker reset: notice it, re-create the topics, send again what the broker forgot.

The relay marks an outbox row sent once the broker acknowledged it (acks=all). A durable
cluster keeps what it acknowledged; a broker that comes back empty (devstack's in-memory Tansu,
a cluster rebuilt from nothing, a topic deleted and created again) does not, and the consumers
would never see those events. So the relay keeps sent rows for `outbox_retention_s` and, when
`BrokerWatch` sees a reset, puts the rows sent within `relay_republish_window_s` back in line
(`republish_since`). Consumers skip what they handled already by the event id
(`processed_event`), so the second copy of an event they had is harmless.

A reset is any of:
- the cluster id changed (a new, empty cluster answers on the same address);
- a topic family or its `.dlq` twin is missing (the broker lost it; at the first contact they
  are only created);
- a partition's log end is below the offsets the broker acknowledged to this relay, or a new
  acknowledgement comes back with a lower offset than an earlier one on that partition.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from privacy_kit.db import rows_affected
from privacy_kit.kafka import ensure_topics, kafka_connection, wanted_topics
from privacy_kit.settings import ServiceSettings

log = logging.getLogger(__name__)


async def republish_since(conn: asyncpg.Connection, *, window_s: float) -> int:
    """Put the rows sent within the last `window_s` seconds back in line for the relay (in
    their original order: the relay publishes by `seq`). Returns how many."""
    return rows_affected(await conn.execute(
        """UPDATE outbox SET sent_at = NULL, last_error = 'sent again after a broker reset'
           WHERE sent_at >= now() - make_interval(secs => $1)""",
        window_s,
    ))


class BrokerWatch:
    """What the relay knows of the broker it publishes to, and the question: was it reset?"""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.cluster_id: str | None = None
        # Per partition: how long the log is at least, by the broker's acknowledgements.
        self.acked_end: dict[TopicPartition, int] = {}
        self._went_back: str | None = None
        self.checked_at = 0.0
        self.resets = 0
        self.last_reset: dict[str, Any] | None = None
        self._admin: AIOKafkaAdminClient | None = None

    def acknowledged(self, results: Iterable[Any]) -> None:
        """Note the broker's answers (`RecordMetadata`) to a publish.

        Per partition we keep the lowest offset of the latest publish, plus one: the log holds
        at least that much. (Not the highest: Tansu in memory reports the log end of a
        partition written in multi-record batches as the last batch's first offset plus one.)
        """
        lowest: dict[TopicPartition, int] = {}
        for md in results:
            tp = TopicPartition(md.topic, md.partition)
            lowest[tp] = min(lowest.get(tp, md.offset), md.offset)
        for tp, low in lowest.items():
            floor = self.acked_end.get(tp, 0)
            if low + 1 < floor and self._went_back is None:
                self._went_back = (f"{tp.topic}[{tp.partition}] acknowledged offset {low}, "
                                   f"below the {floor - 1} acknowledged before")
            self.acked_end[tp] = max(floor, low + 1)

    def due(self) -> bool:
        return (self._went_back is not None
                or time.monotonic() - self.checked_at >= self.settings.relay_reset_check_s)

    async def reset_reason(self) -> str | None:
        """Ask the broker; the reason it was reset, or None. Raises when it cannot be asked."""
        if self._went_back is not None:
            return self._went_back
        if self._admin is None:  # kept between checks; its metadata requests name no topic
            admin = AIOKafkaAdminClient(
                **kafka_connection(self.settings),
                request_timeout_ms=self.settings.kafka_request_timeout_ms,
            )
            await admin.start()
            self._admin = admin
        try:
            cluster = await self._admin.describe_cluster()
            topics = set(await self._admin.list_topics())
        except Exception:
            await self.close()
            raise
        cluster_id = cluster.get("cluster_id")
        known, self.cluster_id = self.cluster_id, cluster_id
        self.checked_at = time.monotonic()
        if known is not None and cluster_id != known:
            return f"the cluster id changed from {known} to {cluster_id}"
        missing = [t.name for t in wanted_topics(self.settings) if t.name not in topics]
        if missing and known is None:  # first contact: nothing of ours was lost, create them
            await ensure_topics(self.settings, create=self.settings.kafka_creates_topics)
        elif missing:
            return f"topics missing: {', '.join(sorted(missing))}"
        if not self.acked_end:
            return None
        ends = await self._log_ends(list(self.acked_end))
        for tp, acked in self.acked_end.items():
            end = ends.get(tp)
            if end is not None and end < acked:
                return f"{tp.topic}[{tp.partition}] ends at {end}, below the {acked} acknowledged"
        return None

    async def close(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()
            self._admin = None

    async def _log_ends(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        # Only asked once every topic exists: a metadata request may create a missing one.
        consumer = AIOKafkaConsumer(
            **kafka_connection(self.settings), enable_auto_commit=False,
            request_timeout_ms=max(self.settings.kafka_request_timeout_ms, 10000),
        )
        await consumer.start()
        try:
            return dict(await consumer.end_offsets(partitions))
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def recover(self, pool: asyncpg.Pool, reason: str) -> int:
        """Re-create the topics (with their partitions and .dlq twins), then put the rows sent
        within the window back in line. Returns how many rows will be sent again."""
        missing = await ensure_topics(self.settings, create=self.settings.kafka_creates_topics)
        if missing and not self.settings.kafka_creates_topics:
            raise RuntimeError(f"the broker was reset ({reason}) and {len(missing)} topics are "
                               "missing: run `python -m privacy_kit.topics`")
        # Rows older than the retention are pruned anyway: the window is at most that.
        window = min(self.settings.relay_republish_window_s, self.settings.outbox_retention_s)
        async with pool.acquire() as conn:
            again = await republish_since(conn, window_s=window)
        self.resets += 1
        self.acked_end.clear()
        self._went_back = None
        self.checked_at = time.monotonic()
        self.last_reset = {"reason": reason, "republished": again,
                           "at_monotonic": round(time.monotonic(), 1)}
        log.warning("the broker was reset (%s): topics ensured, %d sent events queued again "
                    "(window %g s)", reason, again, window)
        return again
