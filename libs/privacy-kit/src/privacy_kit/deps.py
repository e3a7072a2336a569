"""Dependencies every service's views use: a pooled connection, the typed settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
from fastapi import Depends, Request

from privacy_kit.settings import ServiceSettings


async def db_conn(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection per request; the view owns the transaction."""
    async with request.app.state.pool.acquire() as conn:
        try:
            yield conn
        except asyncpg.InternalClientError:
            # Its protocol state is broken (the server went away while it was idle in the
            # pool): never lend it again; the pool opens a new one when it can.
            conn.terminate()
            raise


DbConn = Annotated[asyncpg.Connection, Depends(db_conn)]


S = TypeVar("S", bound=ServiceSettings)


def settings_dependency(cls: type[S]) -> Callable[[Request], Awaitable[S]]:
    """A typed dependency for a service's own settings class:
    `SettingsDep = Annotated[Settings, Depends(settings_dependency(Settings))]`.

    Async on purpose, like every kit dependency: FastAPI runs a plain `def` dependency in its
    thread pool, a thread hand-off on every request (tests/kit/test_dependencies.py)."""

    async def settings_of(request: Request) -> S:
        settings = request.app.state.settings
        if not isinstance(settings, cls):
            raise TypeError(f"the app's settings are not a {cls.__name__}")
        return settings

    return settings_of
