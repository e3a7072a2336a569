"""Erasure (O25, O16, O13): destroy a subject's or tenant's rows, keeping only anonymous
per-training and per-module aggregates (never with the values of fewer people than the minimum
group), and nothing of those who opted out of anonymised data."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from privacy_kit.db import rows_affected
from privacy_kit.provider import ErasureScope
from training_records import anonymisation, ended_accounts
from training_records.settings import Settings

log = logging.getLogger(__name__)

ERASED_ACTOR = "erased"
STORE = "training-records"

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

# Certificates about to be erased leave the hash of their code behind (migration 0002).
_KEEP_CERTIFICATE_FACTS = """
INSERT INTO erased_certificate (code_hash, training_id, training, issued_at)
SELECT encode(sha256(convert_to(c.verification_code, 'UTF8')), 'hex'), c.training_id, t.title,
       c.issued_at
FROM certificate c JOIN training t ON t.id = c.training_id
WHERE {where}
ON CONFLICT (code_hash) DO NOTHING
"""

# Child tables of a person, in deletion order; each has the person in `participant_id`.
_PERSON_TABLES = ("result", "certificate", "module_progress", "login", "assignment")


async def erase(
    conn: asyncpg.Connection, scope: ErasureScope, settings: Settings
) -> dict[str, int]:
    if scope.kind == "subject":
        return await erase_subject(conn, scope.subject_id, settings)
    if scope.kind == "tenant":
        return await erase_tenant(conn, scope.tenant_id, _uuids(scope.held_subject_ids),
                                  settings, scope.held_categories)
    return await erase_category(conn, scope, settings)


async def _fold(
    conn: asyncpg.Connection, settings: Settings, *, results: str, people: str, args: Any
) -> None:
    """Fold the latest results selected by `results` and the module progress of the people
    `people` returns into the anonymous aggregates, leaving out whoever opted out (O13), asked
    of consent at this moment; nobody at all when consent cannot say. Groups below the minimum
    are kept as a count only (O16)."""
    ids = [r["participant_id"] for r in await conn.fetch(
        f"""SELECT participant_id FROM result WHERE {results}
            UNION SELECT participant_id FROM module_progress WHERE participant_id IN ({people})""",
        *args)]
    if not ids:
        return
    opted = await anonymisation.opted_out(settings, ids)
    if opted is None:
        log.warning("training history of %d people removed without folding it into the "
                    "benchmark", len(ids))
        return
    minimum = max(settings.benchmark_min_participants, 1)
    n = len(args) + 1
    batches = await conn.fetch(_BATCH.format(where=results, opted=n), *args, list(opted))
    await conn.executemany(_FOLD, [
        (b["training_id"], b["people"], b["score_sum"], b["passed"], minimum) for b in batches])
    modules = await conn.fetch(_PROGRESS_BATCH.format(people=people, opted=n), *args,
                               list(opted))
    await conn.executemany(_FOLD_PROGRESS, [
        (m["module_id"], m["people"], m["completed"], m["time_spent_s"], minimum)
        for m in modules])


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
    await _fold(conn, settings, results="participant_id = $1", people="SELECT $1::uuid",
                args=(sid,))
    await conn.execute(_KEEP_CERTIFICATE_FACTS.format(where="c.participant_id = $1"), sid)
    for table in _PERSON_TABLES:
        counts[table] = rows_affected(await conn.execute(
            f"DELETE FROM {table} WHERE participant_id = $1", sid))
    counts["person_rectification"] = rows_affected(await conn.execute(
        "DELETE FROM person_rectification WHERE person_id = $1", sid))
    counts["access_log"] = rows_affected(await conn.execute(
        "DELETE FROM access_log WHERE subject_id = $1", str(sid)))
    await conn.execute("DELETE FROM anonymisation_opt_out WHERE subject_id = $1", sid)
    counts["person"] = rows_affected(await conn.execute("DELETE FROM person WHERE id = $1", sid))
    await _forget_actors(conn, [str(sid)])
    return counts


async def _forget_actors(conn: asyncpg.Connection, actors: list[str]) -> None:
    """Where erased people acted on others' records (a Beheerder), keep the act, not them."""
    if not actors:
        return
    await conn.execute(
        "UPDATE assignment SET assigned_by = NULL WHERE assigned_by = ANY($1::text[])", actors)
    for table, column in (("result", "recorded_by"), ("person_rectification", "changed_by"),
                          ("access_log", "actor_sub"), ("person", "created_by"),
                          ("person", "restricted_by")):
        await conn.execute(
            f"UPDATE {table} SET {column} = $2 WHERE {column} = ANY($1::text[])",
            actors, ERASED_ACTOR)


async def erase_tenant(
    conn: asyncpg.Connection, tenant_id: str | None, held: list[uuid.UUID], settings: Settings,
    held_categories: list[str] | None = None,
) -> dict[str, int]:
    """Everything of the tenant, except people under legal hold (O17): they stay, and so does
    the tenant row until their hold is released. A hold on one of the tenant's categories keeps
    that category; one that needs the accounts (all but the access log) keeps the accounts too."""
    tid = _uuid(tenant_id)
    counts = dict.fromkeys(
        (*_PERSON_TABLES, "person_rectification", "access_log", "person", "tenant"), 0)
    if tid is None:
        return counts
    kept = set(held_categories or ()) & {*_ACCOUNT_BOUND, "access_log", "login_times",
                                         "anonymisation_opt_out"}
    keep_accounts = bool(kept - {"access_log"})
    not_held = "tenant_id = $1 AND participant_id <> ALL($2::uuid[])"
    if "training_history" not in kept:
        await _fold(conn, settings, results=not_held,
                    people="SELECT id FROM person WHERE tenant_id = $1 AND id <> ALL($2::uuid[])",
                    args=(tid, held))
    await conn.execute(_KEEP_CERTIFICATE_FACTS.format(
        where="c.tenant_id = $1 AND c.participant_id <> ALL($2::uuid[])"), tid, held)
    for table in _PERSON_TABLES:
        if _TABLE_CATEGORY[table] in kept:
            continue
        counts[table] = rows_affected(await conn.execute(f"DELETE FROM {table} WHERE {not_held}",
                                                  tid, held))
    if "rectification_history" not in kept:
        counts["person_rectification"] = rows_affected(await conn.execute(
            "DELETE FROM person_rectification WHERE tenant_id = $1"
            " AND person_id <> ALL($2::uuid[])", tid, held))
    if "access_log" not in kept:
        counts["access_log"] = rows_affected(await conn.execute(
            "DELETE FROM access_log WHERE tenant_id = $1::uuid::text"
            " AND subject_id <> ALL($2::uuid[]::text[])", tid, held))
    if keep_accounts:
        if "career" not in kept:
            await conn.execute(
                """UPDATE person SET education = NULL, work_history = NULL WHERE tenant_id = $1
                   AND id <> ALL($2::uuid[])""", tid, held)
        await conn.execute(
            "UPDATE tenant SET contract_state = 'terminated', updated_at = now() WHERE id = $1",
            tid)
        return counts
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


# --- Category scopes: what a retention sweep asks (O15, O16) --------------------------------

# Where a category's rows are when they are removed with others' (counts are kept per category,
# whichever job removes them, so a sweep adds up the same whatever order its jobs run in).
_TABLE_CATEGORY = {
    "result": "training_history", "module_progress": "training_history",
    "assignment": "training_history", "certificate": "certificates", "login": "login_times",
    "person_rectification": "rectification_history", "access_log": "access_log",
}
# Usage data and logs: measured by the row's own time.
_TIMED = {
    "login_times": ("login", "logged_in_at", "participant_id"),
    "access_log": ("access_log", "read_at", "subject_id"),
}
# Account-bound categories: live while the account exists, swept once it is closed.
_PROFILES = {"participant_profile": "participant", "beheerder_profile": "beheerder",
             "expert_profile": "expert"}
_ACCOUNT_BOUND = {*_PROFILES, "career", "training_history", "certificates",
                  "rectification_history"}

# Progress per person and module of people who did not opt out (O13, here or in consent:
# `${opted}`), per module. `{people}` is a query returning the person ids.
_PROGRESS_BATCH = """
SELECT module_id, count(*) AS people, count(*) FILTER (WHERE completed_at IS NOT NULL) AS completed,
       sum(time_spent_s) AS time_spent_s
FROM module_progress p
WHERE participant_id IN ({people}) AND NOT EXISTS (
    SELECT 1 FROM anonymisation_opt_out o WHERE o.subject_id = p.participant_id AND o.opted_out)
  AND NOT (p.participant_id = ANY(${opted}::uuid[]))
GROUP BY module_id
"""

# O16 for the per-module aggregate, as `_FOLD` for the per-training one: `scored` people's values
# are in `completed` and `time_spent_s`; a batch that would leave it below the minimum (`$5`) is
# counted in `participants` only.
_FOLD_PROGRESS = """
INSERT INTO module_benchmark AS b (module_id, participants, scored, completed, time_spent_s,
                                   updated_at)
VALUES ($1::uuid, $2::int,
        CASE WHEN $2::int >= $5::int THEN $2::int ELSE 0 END,
        CASE WHEN $2::int >= $5::int THEN $3::int ELSE 0 END,
        CASE WHEN $2::int >= $5::int THEN $4::bigint ELSE 0 END, now())
ON CONFLICT (module_id) DO UPDATE SET
    participants = b.participants + $2::int,
    scored = b.scored + CASE WHEN b.scored + $2::int >= $5::int THEN $2::int ELSE 0 END,
    completed = b.completed + CASE WHEN b.scored + $2::int >= $5::int THEN $3::int ELSE 0 END,
    time_spent_s = b.time_spent_s
        + CASE WHEN b.scored + $2::int >= $5::int THEN $4::bigint ELSE 0 END,
    updated_at = now()
"""

_IDS = "SELECT unnest($1::uuid[])"


async def erase_category(
    conn: asyncpg.Connection, scope: ErasureScope, settings: Settings
) -> dict[str, int]:
    """Records of one category whose term ended before `older_than`, outside legal holds.
    Answers only for categories this store sweeps (the others are absent from the counts)."""
    category = scope.category or ""
    cutoff = scope.older_than or datetime.now(UTC)
    held_subjects, held_tenants = _uuids(scope.held_subject_ids), _uuids(scope.held_tenant_ids)
    tenant = _uuid(scope.tenant_id)
    if scope.tenant_id and tenant is None:
        return {category: 0} if category in _TIMED or category in _ACCOUNT_BOUND else {}
    if category in _TIMED:
        table, stamp, subject = _TIMED[category]
        status = await conn.execute(
            # ::text: the access log is the kit's table, with text ids (privacy_kit.access_log)
            f"""DELETE FROM {table} WHERE {stamp} < $1
                AND {subject}::text <> ALL($2::uuid[]::text[])
                AND (tenant_id IS NULL OR tenant_id::text <> ALL($3::uuid[]::text[]))
                AND ($4::uuid IS NULL OR tenant_id::text = $4::uuid::text)""",
            cutoff, held_subjects, held_tenants, tenant)
        return {category: rows_affected(status)}
    if category not in _ACCOUNT_BOUND:
        return {}
    kinds = [_PROFILES[category]] if category in _PROFILES else ["participant"]
    if category == "rectification_history":
        kinds = list(_PROFILES.values())
    closed = [r["id"] for r in await conn.fetch(
        """SELECT id FROM person WHERE kind = ANY($1::text[]) AND closed_at < $2
           AND id <> ALL($3::uuid[]) AND (tenant_id IS NULL OR tenant_id <> ALL($4::uuid[]))
           AND ($5::uuid IS NULL OR tenant_id = $5)""",
        kinds, cutoff, held_subjects, held_tenants, tenant)]
    if category == "training_history":
        return {category: await _retire_history(conn, settings, closed,
                                                anonymise=scope.action == "anonymise")}
    if category == "certificates":
        status = await conn.execute(
            f"DELETE FROM certificate WHERE participant_id IN ({_IDS})", closed)
        return {category: rows_affected(status)}
    if category == "rectification_history":
        status = await conn.execute(
            f"DELETE FROM person_rectification WHERE person_id IN ({_IDS})", closed)
        return {category: rows_affected(status)}
    if category == "career":
        status = await conn.execute(
            f"""UPDATE person SET education = NULL, work_history = NULL, updated_at = now()
                WHERE id IN ({_IDS}) AND (education IS NOT NULL OR work_history IS NOT NULL)""",
            closed)
        return {category: rows_affected(status)}
    return await _erase_closed_accounts(conn, settings, closed, category)


async def _retire_history(conn: asyncpg.Connection, settings: Settings,
                          people: list[uuid.UUID], *, anonymise: bool) -> int:
    """Destroy the training history of these people; when anonymising, first fold it into the
    anonymous per-training and per-module aggregates, except for those who opted out (O13).
    Set-based: a handful of statements, whatever the number of rows."""
    if not people:
        return 0
    if anonymise:
        await _fold(conn, settings, results=f"participant_id IN ({_IDS})", people=_IDS,
                    args=(people,))
    removed = 0
    for table in ("result", "module_progress", "assignment"):
        removed += rows_affected(await conn.execute(
            f"DELETE FROM {table} WHERE participant_id IN ({_IDS})", people))
    return removed


async def _erase_closed_accounts(
    conn: asyncpg.Connection, settings: Settings, people: list[uuid.UUID], category: str
) -> dict[str, int]:
    """Closed accounts whose term ended: their history is anonymised first (as its own rule
    says by default), then everything of them goes; counted per category."""
    counts = {category: 0, "training_history": await _retire_history(conn, settings, people,
                                                                     anonymise=True)}
    if not people:
        return counts
    for table in ("certificate", "login"):
        counts[_TABLE_CATEGORY[table]] = rows_affected(await conn.execute(
            f"DELETE FROM {table} WHERE participant_id IN ({_IDS})", people))
    counts["rectification_history"] = rows_affected(await conn.execute(
        f"DELETE FROM person_rectification WHERE person_id IN ({_IDS})", people))
    counts["access_log"] = rows_affected(await conn.execute(
        "DELETE FROM access_log WHERE subject_id = ANY($1::uuid[]::text[])", people))
    await conn.execute(f"DELETE FROM anonymisation_opt_out WHERE subject_id IN ({_IDS})", people)
    gone = await conn.fetch(
        f"DELETE FROM person WHERE id IN ({_IDS}) RETURNING id, tenant_id", people)
    counts[category] = len(gone)
    ids = [str(p["id"]) for p in gone]
    await _forget_actors(conn, ids)
    # The account has ended: its events still here go, and every other store is asked to
    # erase the person too (O25), through retention, as for any erasure: queued in this
    # transaction, asked right after it (ended_accounts), so the job's answer goes first.
    await conn.execute("DELETE FROM outbox WHERE subject_id = ANY($1::text[])", ids)
    await ended_accounts.queue(conn, gone)
    return counts
