"""Rows the benchmarks COPY straight into the stores' databases (setup, not what they measure)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg


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
