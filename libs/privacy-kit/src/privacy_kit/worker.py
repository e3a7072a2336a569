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

log = logging.getLogger(__name__)

# How long a stopping worker may take to finish its task and release what it holds: a shutdown
# that waits on a broker or a database that does not answer must still end.
STOP_TIMEOUT_S = 15.0


async def wait_until_set(event: asyncio.Event, timeout: float) -> bool:
    """Wait for `event` at most `timeout` seconds; True when it was set.

    Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives just as the
    event is set, and a worker's loop would then run on after `stop()` cancelled it."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
        return True
    except TimeoutError:
        return False


async def cancel_and_wait(task: asyncio.Task[object], name: str,
                          timeout: float = STOP_TIMEOUT_S) -> None:
    """Cancel `task` and wait for it to end, cancelling again while it keeps running (a task
    can swallow one cancellation); after `timeout` seconds it is left behind with a warning."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not task.done():
        task.cancel()
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            log.warning("%s did not stop within %.0f s; left behind", name, timeout)
            return
        await asyncio.wait({task}, timeout=min(1.0, remaining))
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s ended with %r", name, task.exception())


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
            await cancel_and_wait(self._task, self.task_name)
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await self._close()
        except TimeoutError:
            log.warning("%s did not release its clients within %.0f s", self.task_name,
                        STOP_TIMEOUT_S)

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
        # Released even when the listener cannot be removed (a broken connection): the pool's
        # close waits for every connection it lent.
        with contextlib.suppress(Exception):
            await conn.remove_listener(channel, callback)
        with contextlib.suppress(Exception):
            await pool.release(conn, timeout=5)


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
