"""Rows the benchmarks COPY straight into the stores' databases (setup, not what they measure)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import asyncpg


@asynccontextmanager
async def seeding(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to load one store's database with; ANALYZE once it is loaded, so that the
    benchmark runs on the plans of the data it has, then closed."""
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def copy_participants(
    conn: asyncpg.Connection, tenant: uuid.UUID, people: Sequence[uuid.UUID], *,
    created_at: datetime | None = None, closed_at: datetime | None = None, closing: int = 0,
) -> None:
    """training-records: a participant per id (name, e-mail and birth date made up from its place
    in `people`); with `created_at`, registered then, and the first `closing` closed at
    `closed_at`."""
    columns = ["id", "tenant_id", "kind", "name", "email", "birth_date", "created_by"]
    records: list[tuple[Any, ...]] = [
        (p, tenant, "participant", f"Deelnemer {i}", f"deelnemer{i}@example.org",
         datetime(1970 + i % 40, 1 + i % 12, 1 + i % 28).date(), "bench")
        for i, p in enumerate(people)]
    if created_at is not None:
        columns += ["created_at", "closed_at"]
        records = [(*r, created_at, closed_at if i < closing else None)
                   for i, r in enumerate(records)]
    await conn.copy_records_to_table("person", columns=columns, records=records)


async def assign_with_results(conn: asyncpg.Connection, tenant: uuid.UUID, training: uuid.UUID,
                              people: Sequence[uuid.UUID]) -> None:
    """training-records: every person assigned `training`, with a result (two in three passed)."""
    await conn.copy_records_to_table(
        "assignment", columns=["id", "tenant_id", "training_id", "participant_id"],
        records=[(uuid.uuid4(), tenant, training, p) for p in people])
    await conn.copy_records_to_table(
        "result", columns=["id", "tenant_id", "participant_id", "training_id", "score",
                           "passed", "recorded_by"],
        records=[(uuid.uuid4(), tenant, p, training, 50 + i % 50, i % 3 != 0, "bench")
                 for i, p in enumerate(people)])


async def two_consents_each(conn: asyncpg.Connection, tenant: str, people: Sequence[uuid.UUID],
                            now: datetime) -> int:
    """consent: a grant and a withdrawal of the first purpose per person; the rows written."""
    purpose = await conn.fetchval("SELECT id FROM purpose ORDER BY id LIMIT 1")
    version = await conn.fetchval("SELECT version FROM policy_version ORDER BY version LIMIT 1")
    await conn.copy_records_to_table(
        "consent_record", columns=["id", "subject_id", "chain_index", "purpose_id", "granted",
                                   "policy_version", "method", "actor_sub", "actor_role",
                                   "on_behalf", "tenant_id", "recorded_at", "prev_hash", "hash"],
        records=[(uuid.uuid4(), str(p), n, purpose, n == 0, version, "api", str(p),
                  "participant", False, tenant, now, "0" * 64, f"{n}" * 64)
                 for p in people for n in range(2)])
    return 2 * len(people)


async def progress(conn: asyncpg.Connection, tenant: uuid.UUID, people: Sequence[uuid.UUID],
                   modules: Sequence[uuid.UUID], at: datetime, *, chunk: int = 2000) -> None:
    """training-records: every person started and completed every module at `at` (one COPY per
    `chunk` people)."""
    for start in range(0, len(people), chunk):
        await conn.copy_records_to_table(
            "module_progress", columns=["participant_id", "module_id", "tenant_id",
                                        "started_at", "completed_at", "time_spent_s"],
            records=[(p, m, tenant, at, at, 60 * (k + 1))
                     for p in people[start:start + chunk] for k, m in enumerate(modules)])


async def access_requests(conn: asyncpg.Connection, tenant: str, people: Sequence[uuid.UUID],
                          now: datetime) -> int:
    """subject-rights: an open access request per person, due in 28 days; the rows written."""
    due = now + timedelta(days=28)
    await conn.copy_records_to_table(
        "subject_request", columns=["id", "subject_id", "tenant_id", "kind", "submitted_by",
                                    "due_at", "first_due_at"],
        records=[(uuid.uuid4(), str(p), tenant, "access", str(p), due, due) for p in people])
    return len(people)
