"""Erasure (O25, O16, O13): destroy a subject's or tenant's rows, keeping only anonymous
per-training aggregates of results (never of fewer people than the minimum group), and nothing
of those who opted out of anonymised data."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from privacy_kit.db import rows_affected
from privacy_kit.provider import ErasureScope
from training_records import anonymisation
from training_records.settings import Settings

log = logging.getLogger(__name__)

ERASED_ACTOR = "erased"

# Latest result per person and training, of people who did not opt out (O13: neither here nor,
# asked at this moment, in consent: `${opted}`), per training. `{where}` selects the results
# about to be erased.
_BATCH = """
SELECT training_id, count(*) AS people, sum(score) AS score_sum,
       count(*) FILTER (WHERE passed) AS passed
FROM (SELECT DISTINCT ON (participant_id, training_id) participant_id, training_id, score, passed
      FROM result WHERE {where}
      ORDER BY participant_id, training_id, recorded_at DESC, id) latest
WHERE NOT EXISTS (SELECT 1 FROM anonymisation_opt_out o
                  WHERE o.subject_id = latest.participant_id AND o.opted_out)
  AND NOT (latest.participant_id = ANY(${opted}::uuid[]))
GROUP BY training_id
"""

# O16: a stored aggregate never holds the values of fewer than `$5` people (the minimum group).
# `scored` people's values are in the sums; it is 0 or at least the minimum. A batch that would
# leave it below the minimum is counted in `participants` only, its values destroyed with it.
_FOLD = """
INSERT INTO training_benchmark AS b (training_id, participants, scored, score_sum, passed,
                                     updated_at)
VALUES ($1::uuid, $2::int,
        CASE WHEN $2::int >= $5::int THEN $2::int ELSE 0 END,
        CASE WHEN $2::int >= $5::int THEN $3::numeric ELSE 0 END,
        CASE WHEN $2::int >= $5::int THEN $4::int ELSE 0 END, now())
ON CONFLICT (training_id) DO UPDATE SET
    participants = b.participants + $2::int,
    scored = b.scored + CASE WHEN b.scored + $2::int >= $5::int THEN $2::int ELSE 0 END,
    score_sum = b.score_sum + CASE WHEN b.scored + $2::int >= $5::int THEN $3::numeric ELSE 0 END,
    passed = b.passed + CASE WHEN b.scored + $2::int >= $5::int THEN $4::int ELSE 0 END,
    updated_at = now()
"""

# Child tables of a person, in deletion order; each has the person in `participant_id`.
_PERSON_TABLES = ("result", "certificate", "module_progress", "login", "assignment")


async def erase(
    conn: asyncpg.Connection, scope: ErasureScope, settings: Settings
) -> dict[str, int]:
    if scope.kind == "subject":
        return await erase_subject(conn, scope.subject_id, settings)
    if scope.kind == "tenant":
        return await erase_tenant(conn, scope.tenant_id, _uuids(scope.held_subject_ids), settings)
    return await erase_category(conn, scope)


async def _fold(conn: asyncpg.Connection, settings: Settings, where: str, *args: Any) -> None:
    """Fold the latest results selected by `where` into the benchmark, leaving out whoever
    opted out (O13); nobody at all when consent cannot say."""
    people = [r["participant_id"] for r in await conn.fetch(
        f"SELECT DISTINCT participant_id FROM result WHERE {where}", *args)]
    if not people:
        return
    opted = await anonymisation.opted_out(settings, people)
    if opted is None:
        log.warning("results of %d people erased without folding them into the benchmark",
                    len(people))
        return
    batches = await conn.fetch(_BATCH.format(where=where, opted=len(args) + 1), *args,
                               list(opted))
    minimum = max(settings.benchmark_min_participants, 1)
    await conn.executemany(_FOLD, [
        (b["training_id"], b["people"], b["score_sum"], b["passed"], minimum) for b in batches])


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _uuids(values: list[str]) -> list[uuid.UUID]:
    return [u for u in (_uuid(v) for v in values) if u is not None]


async def erase_subject(
    conn: asyncpg.Connection, subject_id: str | None, settings: Settings
) -> dict[str, int]:
    sid = _uuid(subject_id)
    counts = dict.fromkeys((*_PERSON_TABLES, "person_rectification", "access_log", "person"), 0)
    if sid is None:
        return counts  # not an id of ours, so nothing of it is stored here
    await _fold(conn, settings, "participant_id = $1", sid)
    for table in _PERSON_TABLES:
        counts[table] = rows_affected(await conn.execute(
            f"DELETE FROM {table} WHERE participant_id = $1", sid))
    counts["person_rectification"] = rows_affected(await conn.execute(
        "DELETE FROM person_rectification WHERE person_id = $1", sid))
    counts["access_log"] = rows_affected(await conn.execute(
        "DELETE FROM access_log WHERE subject_id = $1", sid))
    await conn.execute("DELETE FROM anonymisation_opt_out WHERE subject_id = $1", sid)
    counts["person"] = rows_affected(await conn.execute("DELETE FROM person WHERE id = $1", sid))
    await _forget_actor(conn, str(sid))
    return counts


async def _forget_actor(conn: asyncpg.Connection, actor: str) -> None:
    """Where the erased person acted on others' records (a Beheerder), keep the act, not them."""
    await conn.execute(
        "UPDATE assignment SET assigned_by = NULL WHERE assigned_by = $1", actor)
    await conn.execute(
        "UPDATE result SET recorded_by = $2 WHERE recorded_by = $1", actor, ERASED_ACTOR)
    await conn.execute(
        "UPDATE person_rectification SET changed_by = $2 WHERE changed_by = $1",
        actor, ERASED_ACTOR)
    await conn.execute(
        "UPDATE access_log SET actor_sub = $2 WHERE actor_sub = $1", actor, ERASED_ACTOR)
    await conn.execute(
        "UPDATE person SET created_by = $2 WHERE created_by = $1", actor, ERASED_ACTOR)
    await conn.execute(
        "UPDATE person SET restricted_by = $2 WHERE restricted_by = $1", actor, ERASED_ACTOR)


async def erase_tenant(
    conn: asyncpg.Connection, tenant_id: str | None, held: list[uuid.UUID], settings: Settings
) -> dict[str, int]:
    """Everything of the tenant, except people under legal hold (O17): they stay, and so does
    the tenant row until their hold is released."""
    tid = _uuid(tenant_id)
    counts = dict.fromkeys(
        (*_PERSON_TABLES, "person_rectification", "access_log", "person", "tenant"), 0)
    if tid is None:
        return counts
    not_held = "tenant_id = $1 AND participant_id <> ALL($2::uuid[])"
    await _fold(conn, settings, not_held, tid, held)
    for table in _PERSON_TABLES:
        counts[table] = rows_affected(await conn.execute(f"DELETE FROM {table} WHERE {not_held}",
                                                  tid, held))
    counts["person_rectification"] = rows_affected(await conn.execute(
        "DELETE FROM person_rectification WHERE tenant_id = $1 AND person_id <> ALL($2::uuid[])",
        tid, held))
    counts["access_log"] = rows_affected(await conn.execute(
        "DELETE FROM access_log WHERE tenant_id = $1 AND subject_id <> ALL($2::uuid[])",
        tid, held))
    erased_ids = [r["id"] for r in await conn.fetch(
        "DELETE FROM person WHERE tenant_id = $1 AND id <> ALL($2::uuid[]) RETURNING id",
        tid, held)]
    counts["person"] = len(erased_ids)
    if erased_ids:
        await conn.execute(
            "DELETE FROM anonymisation_opt_out WHERE subject_id = ANY($1::uuid[])", erased_ids)
    if held:
        await conn.execute(
            "UPDATE tenant SET contract_state = 'terminated', updated_at = now() WHERE id = $1",
            tid)
    else:
        counts["tenant"] = rows_affected(await conn.execute("DELETE FROM tenant WHERE id = $1", tid))
    return counts


# Categories with a term of their own; the rest live while the account exists and go with it.
_TIMED = {
    "login_times": ("login", "logged_in_at", "participant_id"),
    "access_log": ("access_log", "read_at", "subject_id"),
    "rectification_history": ("person_rectification", "changed_at", "person_id"),
}


async def erase_category(conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
    target = _TIMED.get(scope.category or "")
    if target is None:
        return {}
    table, stamp, subject = target
    cutoff = scope.older_than or datetime.now(UTC)
    status = await conn.execute(
        f"DELETE FROM {table} WHERE {stamp} < $1 AND {subject} <> ALL($2::uuid[])",
        cutoff, _uuids(scope.held_subject_ids))
    return {table: rows_affected(status)}
