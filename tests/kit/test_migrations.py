"""Forward-only migrations under an advisory lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from devstack.testing import Suite
from privacy_kit.db import KIT_MIGRATIONS, migrate

KIT = [f"privacy_kit/{p.name}" for p in sorted(KIT_MIGRATIONS.glob("*.sql"))]


async def test_two_runners_at_once_apply_each_file_exactly_once(suite: Suite, tmp_path: Path) -> None:
    migrations = tmp_path / "svc" / "migrations"
    migrations.mkdir(parents=True)
    # Not idempotent on purpose: a second application would fail or insert a second row.
    (migrations / "0001_create.sql").write_text(
        "CREATE TABLE applied (what text); INSERT INTO applied VALUES ('0001');"
        "SELECT pg_sleep(0.3);"
    )
    (migrations / "0002_more.sql").write_text("INSERT INTO applied VALUES ('0002');")
    dsn = await suite.new_database("migrate")

    first, second = await asyncio.gather(migrate(dsn, migrations), migrate(dsn, migrations))

    assert sorted(first + second) == sorted(
        [*KIT, "svc/0001_create.sql", "svc/0002_more.sql"]
    )
    conn = await asyncpg.connect(dsn)
    try:
        assert [r["what"] for r in await conn.fetch("SELECT what FROM applied ORDER BY what")] == [
            "0001", "0002",
        ]
        assert await conn.fetchval("SELECT count(*) FROM schema_migration") == len(KIT) + 2
    finally:
        await conn.close()
    assert await migrate(dsn, migrations) == []
