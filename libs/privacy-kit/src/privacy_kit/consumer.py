"""The idempotent consumer: effect and event id in one transaction, then the offset."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from opentelemetry import propagate, trace
from pydantic import ValidationError

from privacy_kit.events import Envelope, dlq
from privacy_kit.kafka import kafka_connection, topic_name
from privacy_kit.protocol import Event, P, ProtocolError, payload_of
from privacy_kit.settings import ServiceSettings
from privacy_kit.worker import LazyProducer, Worker

log = logging.getLogger(__name__)
tracer = trace.get_tracer("privacy_kit.consumer")

Handler = Callable[[asyncpg.Connection, Event[P]], Awaitable[None]]


@dataclass(frozen=True)
class On(Generic[P]):
    """One handler for one event type, which it receives parsed into its payload model."""

    model: type[P]
    handler: Handler[P]

    async def __call__(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        await self.handler(conn, Event(envelope, payload_of(envelope, self.model)))


def on(model: type[P], handler: Handler[P]) -> On[P]:
    return On(model, handler)


@dataclass
class Subscription:
    """Handlers of one topic family, by event type. Other event types are passed over."""

    topic: str
    handlers: dict[str, On[Any]] = field(default_factory=dict)


def subscribe(*handlers: On[Any]) -> list[Subscription]:
    """Group handlers into one subscription per topic (the payload model names the topic)."""
    by_topic: dict[str, Subscription] = {}
    for h in handlers:
        subscription = by_topic.setdefault(h.model.TOPIC, Subscription(h.model.TOPIC))
        if h.model.TYPE in subscription.handlers:
            raise ValueError(f"two handlers for {h.model.TYPE}")
        subscription.handlers[h.model.TYPE] = h
    return list(by_topic.values())


class _BatchFailed(Exception):
    """A batch applied without savepoints failed and was undone whole."""


class EventConsumer(Worker):
    """Consumes the subscribed topics in the service's consumer group."""

    def __init__(
        self, settings: ServiceSettings, pool: asyncpg.Pool, subscriptions: list[Subscription]
    ) -> None:
        super().__init__()
        self.settings = settings
        self.pool = pool
        self.name = settings.service_name  # the consumer's name in processed_event
        self.task_name = f"consumer-{self.name}"
        self.by_topic = {topic_name(settings, s.topic): s for s in subscriptions}
        self._consumer: AIOKafkaConsumer | None = None
        # Started on the first dead letter and kept: most consumers never need one.
        self.dlq_producer = LazyProducer(settings)
        self.assigned = asyncio.Event()
        # What health shows: records behind the log end, and when the broker last answered.
        self.lag = 0
        self.last_contact = time.monotonic()
        self.rewinds = 0
        self._fetched_since_check: dict[TopicPartition, int] = {}
        self._rewound_at_end: dict[TopicPartition, int] = {}
        self._parallel = asyncio.Semaphore(max(1, settings.consumer_parallel_partitions))

    async def _close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
        await self.dlq_producer.stop()

    async def _connect(self) -> AIOKafkaConsumer:
        backoff = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                *self.by_topic,
                **kafka_connection(self.settings),
                group_id=self.settings.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                metadata_max_age_ms=5000,
                fetch_max_wait_ms=self.settings.consumer_fetch_max_wait_ms,
                request_timeout_ms=max(self.settings.kafka_request_timeout_ms, 40000),
            )
            try:
                await consumer.start()
                return consumer
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await consumer.stop()
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("consumer %s cannot connect yet: %s", self.name, self.last_error)
                with contextlib.suppress(Exception):
                    await consumer.stop()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def health(self) -> dict[str, object]:
        """Running, assigned, how far behind, and whether the broker answers: `problems` lists
        what makes the service degraded."""
        silent_s = time.monotonic() - self.last_contact
        problems = []
        if not self.running:
            problems.append("the consumer has stopped")
        elif silent_s > self.settings.consumer_stale_after_s:
            problems.append(f"the consumer has not reached the broker for {silent_s:.0f} s")
        if self.lag > self.settings.consumer_max_lag:
            problems.append(f"the consumer is {self.lag} events behind")
        return {"running": self.running, "assigned": self.assigned.is_set(),
                "lag": self.lag, "last_contact_s": round(silent_s, 1), "rewinds": self.rewinds,
                "last_error": self.last_error, "problems": problems}

    async def _run(self) -> None:
        self._consumer = consumer = await self._connect()
        self.last_contact = time.monotonic()
        next_check = time.monotonic()
        while True:
            try:
                batches = await consumer.getmany(
                    timeout_ms=500, max_records=self.settings.consumer_batch_size)
                if consumer.assignment():
                    self.assigned.set()
                if batches:
                    self.last_contact = time.monotonic()
                    # Each partition's batch in its own transaction, the partitions side by
                    # side (events of one key share a partition, so their order holds).
                    outcomes = await asyncio.gather(
                        *(self._handle_batch_in_turn(records) for records in batches.values()),
                        return_exceptions=True)
                    handled = {tp: records for (tp, records), outcome
                               in zip(batches.items(), outcomes, strict=True) if outcome is None}
                    if handled:
                        await consumer.commit({tp: records[-1].offset + 1
                                               for tp, records in handled.items()})
                    for tp, records in handled.items():
                        self._fetched_since_check[tp] = records[-1].offset
                    for outcome in outcomes:
                        if isinstance(outcome, BaseException):
                            raise outcome
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.settings.consumer_position_check_s
                    await self._check_positions(consumer)
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Not committed, so the record comes again (after a rebalance, or a seek back
                # to the committed offset); the idempotency record makes that harmless.
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("consumer %s loop failed; resuming from the committed offset", self.name)
                await asyncio.sleep(1.0)
                await self._rewind(consumer)

    async def _check_positions(self, consumer: AIOKafkaConsumer) -> None:
        """Ask the broker for each partition's log end: that it answers keeps health green, the
        difference is the lag, and a log end below our position means the broker lost or
        recreated the topic; then we go back to the committed offset (or the beginning) instead
        of waiting, unseen, for new events to pass our old position."""
        assignment = list(consumer.assignment())
        if not assignment:
            self.last_contact = time.monotonic()
            return
        try:
            async with asyncio.timeout(5):
                ends = await consumer.end_offsets(assignment)
        except Exception as exc:  # health shows the silence; no rewind on a guess
            log.info("consumer %s cannot ask the broker for log ends: %s", self.name, exc)
            return
        self.last_contact = time.monotonic()
        lag = 0
        for tp in assignment:
            end = ends.get(tp)
            if end is None:
                continue
            # Tansu names as the log end the first offset of the last record batch, plus one:
            # after a batch of several events that is below our position though nothing was
            # lost. The high watermark in its latest fetch answer is the true end (after a
            # real loss too), so the higher of the two counts.
            highwater = consumer.highwater(tp)
            if highwater is not None:
                end = max(end, highwater)
            position = await consumer.position(tp)
            fetched = self._fetched_since_check.pop(tp, -1)
            if position > end and fetched < end and self._rewound_at_end.get(tp) != end:
                committed = await consumer.committed(tp)
                self._rewound_at_end[tp] = end
                self.rewinds += 1
                if committed is not None and committed <= end:
                    log.warning("%s: %s ends at %d, before our position %d (the broker lost or "
                                "recreated it); back to the committed offset %d",
                                self.name, tp, end, position, committed)
                    consumer.seek(tp, committed)
                else:
                    log.warning("%s: %s ends at %d, before our position %d and committed offset "
                                "%s; reading it again from the beginning (handled events are "
                                "skipped by their id)", self.name, tp, end, position, committed)
                    await consumer.seek_to_beginning(tp)
                continue
            lag += max(0, end - position)
        self.lag = lag

    async def _rewind(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            try:
                committed = await consumer.committed(tp)
                if committed is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, committed)
            except Exception as exc:
                log.warning("could not rewind %s: %s", tp, exc)

    async def _handle_batch_in_turn(self, records: list[ConsumerRecord]) -> None:
        # At most CONSUMER_PARALLEL_PARTITIONS batches (pooled connections) at once, so that a
        # service subscribed to many partitions leaves connections for its HTTP requests.
        async with self._parallel:
            await self.handle_batch(records)

    async def handle_batch(self, records: list[ConsumerRecord]) -> None:
        """Handle fetched records of one partition, in order, in as few transactions as possible.

        The records go through one transaction, each with its own idempotency row; first
        without savepoints (two round trips less per event). Should any of them fail, that
        transaction is undone whole and the batch goes again with a savepoint per event: the
        first one that fails (or is no valid event) then ends the transaction, the ones before
        it are committed, it gets `handle_record`'s retries and dead letter on its own, and the
        rest follow in a new transaction. A poison event never undoes the good ones.
        """
        start = 0
        while start < len(records):
            start += await self._apply_batch(records[start:])
            if start < len(records):
                await self.handle_record(records[start])
                start += 1

    async def _apply_batch(self, records: list[ConsumerRecord]) -> int:
        """Apply records in one transaction until the first that fails; returns how many were
        applied (or passed over). Errors of the transaction itself (a lost connection) raise."""
        try:
            return await self._apply_all(records)
        except _BatchFailed:
            return await self._apply_in_savepoints(records)

    async def _apply_all(self, records: list[ConsumerRecord]) -> int:
        """All records in one transaction without savepoints, up to the first that is no valid
        event; any failure undoes them all (_BatchFailed), and nothing is committed."""
        done = 0
        async with self.pool.acquire() as conn:
            try:
                async with conn.transaction():
                    for record in records:
                        try:
                            event = Envelope.model_validate_json(record.value or b"")
                        except ValidationError:
                            break  # handle_record dead-letters it
                        handler = self.by_topic[record.topic].handlers.get(event.type)
                        if handler is not None:
                            with self._span(record, event):
                                await self._apply_on(conn, handler, event)
                        done += 1
                    if done:
                        # A handler that caught a failed statement left the transaction
                        # aborted, which COMMIT would turn into a silent rollback: ask first.
                        await conn.execute("SELECT 1")
            except Exception as exc:  # (a cancellation is no Exception: it goes up as it is)
                if conn.is_closed():
                    raise
                log.info("%s: a batch of %d events failed (%s); again, each in a savepoint",
                         self.name, len(records), exc)
                raise _BatchFailed from exc
        return done

    async def _apply_in_savepoints(self, records: list[ConsumerRecord]) -> int:
        done = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for record in records:
                subscription = self.by_topic[record.topic]
                try:
                    event = Envelope.model_validate_json(record.value or b"")
                except ValidationError:
                    return done  # handle_record dead-letters it
                handler = subscription.handlers.get(event.type)
                if handler is not None:
                    try:
                        with self._span(record, event):
                            async with conn.transaction():  # a savepoint
                                await self._apply_on(conn, handler, event)
                    except Exception as exc:
                        if conn.is_closed():
                            raise
                        log.info("%s: %s %s failed in a batch (%s); handled on its own",
                                 self.name, event.type, event.id, exc)
                        return done
                done += 1
        return done

    def _span(self, record: ConsumerRecord, event: Envelope) -> Any:
        carrier = {k: v.decode() for k, v in record.headers or () if isinstance(v, bytes)}
        return tracer.start_as_current_span(
            f"{record.topic} process",
            context=propagate.extract(carrier),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.message.id": str(event.id),
                "messaging.consumer.group.name": self.settings.group_id,
                "privacy.event_type": event.type,
            },
        )

    async def handle_record(self, record: ConsumerRecord) -> None:
        """Handle one record with bounded retries; after the last failure it is dead-lettered."""
        subscription = self.by_topic[record.topic]
        try:
            event = Envelope.model_validate_json(record.value or b"")
        except ValidationError as exc:
            await self._dead_letter(record, None, f"not a valid event envelope: {exc}")
            return
        handler = subscription.handlers.get(event.type)
        if handler is None:
            return
        attempts = self.settings.consumer_max_retries + 1
        for attempt in range(attempts):
            try:
                with self._span(record, event):
                    await self._apply(handler, event)
                return
            except asyncio.CancelledError:
                raise
            except ProtocolError as exc:  # it will not fit on a retry either
                await self._dead_letter(record, event, f"ProtocolError: {exc}")
                return
            except Exception as exc:
                log.warning(
                    "%s failed on %s %s (attempt %d/%d): %s",
                    self.name, event.type, event.id, attempt + 1, attempts, exc,
                )
                if attempt + 1 == attempts:
                    await self._dead_letter(record, event, f"{type(exc).__name__}: {exc}")
                    return
                await asyncio.sleep(self.settings.consumer_retry_backoff_s * 2**attempt)

    async def _apply(self, handler: On[Any], event: Envelope) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await self._apply_on(conn, handler, event)

    async def _apply_on(self, conn: asyncpg.Connection, handler: On[Any], event: Envelope) -> None:
        """The effect and the event id in the caller's transaction: a repeat changes nothing."""
        first_time = await conn.fetchval(
            """INSERT INTO processed_event (consumer, event_id) VALUES ($1, $2)
               ON CONFLICT DO NOTHING RETURNING true""",
            self.name,
            event.id,
        )
        if first_time:
            await handler(conn, event)

    async def _dead_letter(self, record: ConsumerRecord, event: Envelope | None, error: str) -> None:
        log.error("dead-lettering %s from %s: %s", event.id if event else "?", record.topic, error)
        async with self.pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO dead_letter (consumer, topic, event_id, event_type, error, payload)
                   VALUES ($1, $2, $3, $4, $5, $6)""",
                self.name,
                record.topic,
                str(event.id) if event else None,
                event.type if event else None,
                error[:2000],
                record.value,
            )
        try:
            producer = await self.dlq_producer.get()
            headers = [*(record.headers or ()), ("dlq.error", error[:500].encode())]
            await producer.send_and_wait(
                dlq(record.topic), value=record.value, key=record.key, headers=headers
            )
        except Exception as exc:  # the row above keeps it visible; the DLQ copy is a courtesy
            log.error("could not write %s to the dead-letter topic: %s", record.topic, exc)
