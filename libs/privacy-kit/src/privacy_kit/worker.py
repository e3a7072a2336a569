"""What the relay, the consumer and the message sender share: one background task, and a
Kafka producer started on first use."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaProducer

from privacy_kit.kafka import new_producer
from privacy_kit.settings import ServiceSettings


class Worker(ABC):
    """A long-running task of a service, started in its lifespan and cancelled at shutdown."""

    task_name = "worker"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @abstractmethod
    async def _run(self) -> None: ...

    async def _close(self) -> None:  # noqa: B027 - most workers hold nothing else
        """Release what the task held (connections, clients) once it has stopped."""


async def listen(
    pool: asyncpg.Pool, channel: str, callback: Callable[..., None], log: logging.Logger
) -> asyncpg.Connection | None:
    """Hold a connection that LISTENs on `channel`; None when it cannot (polling still works)."""
    try:
        conn: asyncpg.Connection = await pool.acquire()
        await conn.add_listener(channel, callback)
        return conn
    except Exception as exc:
        log.warning("could not LISTEN on %s (%s); polling only", channel, exc)
        return None


async def unlisten(
    pool: asyncpg.Pool, conn: asyncpg.Connection | None, channel: str,
    callback: Callable[..., None],
) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            await conn.remove_listener(channel, callback)
            await pool.release(conn)


class LazyProducer:
    """A Kafka producer started on the first send and kept; a failed start is retried later."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def get(self) -> AIOKafkaProducer:
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

    async def stop(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None
