"""Sealing the records written before the ledger was keyed (O11), once, at the first start.

Records from before migration 0002 carry an unkeyed chain only. At the service's first start
with a key, each such subject's chain is checked (the unkeyed rule) and, if it holds, its records
are sealed; a chain that does not hold is left unsealed and stays reported by verification. The
run is recorded in `ledger_sealing` and never repeated: afterwards an unsealed record is a
failure, not something to seal. If sealed records exist but no run is recorded (someone removed
the row), nothing is sealed automatically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
from fastapi import FastAPI

from consent.ledger import chain

log = logging.getLogger(__name__)

_COLUMNS = """id, subject_id, chain_index, purpose_id, granted, policy_version, method,
    actor_sub, actor_role, on_behalf, tenant_id, parental_consent_id, gpc, recorded_at,
    prev_hash, hash, seal"""


@dataclass
class Sealed:
    records: int = 0
    subjects: int = 0
    broken: int = 0


async def seal_legacy_records(conn: asyncpg.Connection, key: str) -> Sealed:
    """Seal every unsealed record whose subject's unkeyed chain verifies."""
    result = Sealed()
    subjects = await conn.fetch(
        "SELECT DISTINCT subject_id FROM consent_record WHERE seal IS NULL ORDER BY subject_id")
    for subject in subjects:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM consent_record WHERE subject_id = $1 ORDER BY chain_index",
            subject["subject_id"],
        )
        if chain.verify(rows):
            result.broken += 1
            continue
        unsealed = [(r["id"], chain.seal(key, r["hash"])) for r in rows if r["seal"] is None]
        await conn.executemany("UPDATE consent_record SET seal = $2 WHERE id = $1", unsealed)
        result.records += len(unsealed)
        result.subjects += 1
    return result


async def seal_on_first_start(pool: asyncpg.Pool, key: str) -> Sealed | None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('ledger-sealing', 27560))")
        if await conn.fetchval("SELECT true FROM ledger_sealing"):
            return None
        if await conn.fetchval("SELECT true FROM consent_record WHERE seal IS NOT NULL LIMIT 1"):
            log.error("the consent ledger holds sealed records but no record of its first sealing: "
                      "not sealing anything; unsealed records will fail verification")
            return None
        result = await seal_legacy_records(conn, key)
        await conn.execute(
            "INSERT INTO ledger_sealing (records, subjects, broken) VALUES ($1, $2, $3)",
            result.records, result.subjects, result.broken,
        )
    if result.records or result.broken:
        log.warning("sealed %d consent records of %d subjects written before the ledger was keyed; "
                    "%d chains did not verify and stay unsealed",
                    result.records, result.subjects, result.broken)
    return result


async def on_start(app: FastAPI) -> None:
    await seal_on_first_start(app.state.pool, app.state.settings.ledger_key)
