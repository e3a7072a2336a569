"""Database pool and the forward-only migration runner."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

# The kit's own tables (outbox, processed events, dead letters) come first in every database.
KIT_MIGRATIONS = Path(__file__).parent / "migrations"


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                     reset=_release_without_round_trip)
    assert pool is not None
    return pool


async def _release_without_round_trip(conn: asyncpg.Connection) -> None:
    """What a pooled connection needs on release, without asyncpg's default reset query
    (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, a round trip on every
    release: about 8% of a consent read).

    Before this runs asyncpg has already rolled back a transaction left open and dropped the
    connection's listeners. The rest of that query undoes session state that no code on a
    pooled connection sets: advisory locks are transaction-scoped (`pg_advisory_xact_lock`),
    settings are `SET LOCAL`, cursors live in transactions, and `privacy_kit.worker.listen`
    removes its listener (UNLISTEN) before it gives the connection back. Keep it that way:
    session-level state belongs on a connection of its own (`asyncpg.connect`, as `migrate`).
    """


def rows_affected(status: str) -> int:
    """The row count of an asyncpg command status such as 'DELETE 3' or 'INSERT 0 1'."""
    return int(status.rsplit(" ", 1)[-1])


def _lock_key(namespace: str) -> int:
    return int.from_bytes(hashlib.sha256(namespace.encode()).digest()[:8], "big", signed=True)


async def migrate(dsn: str, *directories: Path, namespace: str = "privacy-suite") -> list[str]:
    """Apply every numbered `.sql` file once, in order, under a Postgres advisory lock.

    Files are tracked as '<package>/<file name>', the package being the folder that holds the
    migrations folder, so the kit's own and a service's never collide. Returns the files
    applied by this call.
    """
    conn = await asyncpg.connect(dsn)
    applied: list[str] = []
    try:
        # Session lock: a second replica waits here until the first has finished.
        await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(namespace))
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migration (
                       name text PRIMARY KEY,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migration")}
            for directory in (KIT_MIGRATIONS, *directories):
                for path in sorted(directory.glob("*.sql")):
                    name = f"{directory.resolve().parent.name}/{path.name}"
                    if name in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(path.read_text())
                        await conn.execute("INSERT INTO schema_migration (name) VALUES ($1)", name)
                    applied.append(name)
                    log.info("applied migration %s", name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(namespace))
    finally:
        await conn.close()
    return applied
