"""Retention sweeps (O15, O16): a dry run counted by the stores themselves, then, once approved
(or at once for rules marked auto-approve), one category-scope erasure job per store and
category whose term ended. Retention never reads another store's database: it asks over the
event path (`retention.count_requested` / `retention.counted`) and compares the jobs' answers
with the dry run."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import asyncpg

from privacy_kit.outbox import emit
from privacy_kit.protocol import ErasureScope, RetentionCountRequested
from retention.erasure import service as erasure
from retention.i18n import tr
from retention.legal_hold import service as holds
from retention.rules import service as rules
from retention.sweep.models import SweepItem, SweepRead, SweepTotals

REASON = "retention_term_ended"


class NotFound(Exception):
    pass


class CannotApprove(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def start_sweep(*, conn: asyncpg.Connection, requested_by: str, trigger: str,
                      source: str) -> uuid.UUID:
    """Write the sweep, one item per store category with a rule, and ask the stores to count.
    Dry runs still awaiting approval are superseded: only the newest count may be approved."""
    sweep_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO retention_sweep (id, trigger, requested_by) VALUES ($1, $2, $3)",
        sweep_id, trigger, requested_by)
    await conn.execute(
        """UPDATE retention_sweep SET status = 'superseded', superseded_by = $1
           WHERE status = 'awaiting_approval' AND id <> $1""", sweep_id)
    applicable = [r for r in await rules.list_rules(conn=conn)
                  if r.store != rules.POLICY and r.rule is not None]
    await conn.executemany(
        """INSERT INTO retention_sweep_item (sweep_id, store, category, planned, period, clock,
               action, auto_approve, cutoff)
           VALUES ($1, $2, $3, true, $4, $5, $6, $7, now() - $4::text::interval)""",
        [(sweep_id, r.store, r.category, r.period, r.clock, r.action, r.auto_approve)
         for r in applicable])
    stores = sorted({r.store for r in applicable})
    await conn.executemany(
        "INSERT INTO retention_sweep_store (sweep_id, store) VALUES ($1, $2)",
        [(sweep_id, s) for s in stores])
    if not stores:
        await conn.execute(
            """UPDATE retention_sweep SET status = 'completed', counted_at = now(),
                   completed_at = now() WHERE id = $1""", sweep_id)
        return sweep_id
    scopes: dict[str, list[ErasureScope]] = {s: [] for s in stores}
    for item in await _items(conn, sweep_id):
        scope, _ = await holds.apply_holds(conn=conn, scope=_scope(item))
        scopes[item["store"]].append(scope)
    await emit(conn, RetentionCountRequested(sweep_id=sweep_id, scopes=scopes), source=source,
               correlation_id=str(sweep_id), key=str(sweep_id))
    return sweep_id


def _scope(item: asyncpg.Record) -> ErasureScope:
    return ErasureScope(kind="category", category=item["category"], older_than=item["cutoff"],
                        clock=item["clock"], action=item["action"])


async def _items(conn: asyncpg.Connection, sweep_id: uuid.UUID) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        """SELECT * FROM retention_sweep_item WHERE sweep_id = $1
           ORDER BY store, planned DESC, category""", sweep_id))


async def record_count(
    *, conn: asyncpg.Connection, sweep_id: uuid.UUID, store: str, counts: dict[str, int],
    secret: str, deadline: timedelta, source: str,
) -> None:
    """A store's dry-run answer. Once every store asked has answered, act on what needs no
    approval (auto-approve rules) and wait for staff for the rest."""
    status = await conn.fetchval(
        "SELECT status FROM retention_sweep WHERE id = $1 FOR UPDATE", sweep_id)
    if status != "counting":
        return
    first = await conn.fetchval(
        """UPDATE retention_sweep_store SET counted_at = now()
           WHERE sweep_id = $1 AND store = $2 AND counted_at IS NULL RETURNING true""",
        sweep_id, store)
    if not first:
        return  # a store not asked, or a repeated answer
    await conn.executemany(
        """INSERT INTO retention_sweep_item (sweep_id, store, category, planned, counted)
           VALUES ($1, $2, $3, false, $4)
           ON CONFLICT (sweep_id, store, category) DO UPDATE SET counted = EXCLUDED.counted""",
        [(sweep_id, store, category, n) for category, n in counts.items()])
    if await conn.fetchval(
            "SELECT 1 FROM retention_sweep_store WHERE sweep_id = $1 AND counted_at IS NULL",
            sweep_id):
        return
    await conn.execute("UPDATE retention_sweep SET counted_at = now() WHERE id = $1", sweep_id)
    await _act(conn, sweep_id, approved=False, actor="auto-approve", secret=secret,
               deadline=deadline, source=source)


async def approve(
    *, conn: asyncpg.Connection, sweep_id: uuid.UUID, actor: str, secret: str,
    deadline: timedelta, source: str,
) -> None:
    row = await conn.fetchrow(
        "SELECT status, approved_at, superseded_by FROM retention_sweep WHERE id = $1 FOR UPDATE",
        sweep_id)
    if row is None:
        raise NotFound
    if row["status"] == "counting":
        raise CannotApprove(tr("The dry run is still counting: not every store has answered yet."))
    if row["status"] == "superseded":
        raise CannotApprove(tr("A newer dry run ({sweep_id}) replaced this one; approve that "
                               "one instead.", sweep_id=row["superseded_by"]))
    if row["status"] != "awaiting_approval":
        raise CannotApprove(tr("This sweep needs no approval: it was approved already, or its "
                               "dry run found nothing that waits for one."))
    await conn.execute(
        "UPDATE retention_sweep SET approved_by = $2, approved_at = now() WHERE id = $1",
        sweep_id, actor)
    await _act(conn, sweep_id, approved=True, actor=actor, secret=secret, deadline=deadline,
               source=source)


async def _act(
    conn: asyncpg.Connection, sweep_id: uuid.UUID, *, approved: bool, actor: str, secret: str,
    deadline: timedelta, source: str,
) -> None:
    """One category-scope job per store and category the dry run found something in, with the
    dry run's own cut-off; each store erases on its own timestamps."""
    due = await conn.fetch(
        """SELECT * FROM retention_sweep_item
           WHERE sweep_id = $1 AND planned AND job_id IS NULL AND counted > 0
             AND (auto_approve OR $2) ORDER BY store, category""", sweep_id, approved)
    for item in due:
        job_id = await erasure.start_job(
            conn=conn, scope=_scope(item), stores=[item["store"]], reason=REASON,
            reason_code="retention_expired",
            trigger=f"retention_sweep {sweep_id}", requested_by=actor, secret=secret,
            deadline=deadline, source=source)
        await conn.execute(
            """UPDATE retention_sweep_item SET job_id = $4
               WHERE sweep_id = $1 AND store = $2 AND category = $3""",
            sweep_id, item["store"], item["category"], job_id)
    await _advance(conn, sweep_id)


async def _advance(conn: asyncpg.Connection, sweep_id: uuid.UUID) -> None:
    row = await conn.fetchrow(
        """SELECT
             bool_or(i.planned AND i.job_id IS NULL AND i.counted > 0) AS waiting,
             bool_or(j.status IN ('pending', 'stuck')) AS erasing
           FROM retention_sweep_item i LEFT JOIN erasure_job j ON j.id = i.job_id
           WHERE i.sweep_id = $1""", sweep_id)
    status = ("awaiting_approval" if row["waiting"] else
              "erasing" if row["erasing"] else "completed")
    await conn.execute(
        """UPDATE retention_sweep SET status = $2,
               completed_at = CASE WHEN $2 = 'completed' THEN now() END
           WHERE id = $1 AND status NOT IN ('completed', 'superseded')""", sweep_id, status)


async def job_finished(*, conn: asyncpg.Connection, job_id: uuid.UUID) -> None:
    """A sweep's job has every store's answer: the sweep completes with its last job."""
    sweep_id = await conn.fetchval(
        "SELECT sweep_id FROM retention_sweep_item WHERE job_id = $1 LIMIT 1", job_id)
    if sweep_id is None:
        return
    status = await conn.fetchval(
        "SELECT status FROM retention_sweep WHERE id = $1 FOR UPDATE", sweep_id)
    if status == "erasing":
        await _advance(conn, sweep_id)


async def get_sweep(*, conn: asyncpg.Connection, sweep_id: uuid.UUID) -> SweepRead:
    sweeps = await _read(conn, "id = $1", (sweep_id,))
    if not sweeps:
        raise NotFound
    return sweeps[0]


async def list_sweeps(*, conn: asyncpg.Connection, status: str | None, after: Any,
                      limit: int) -> list[SweepRead]:
    return await _read(
        conn,
        """($1::text IS NULL OR status = $1)
           AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
           ORDER BY created_at DESC, id DESC LIMIT $4""",
        (status, after[0] if after else None, after[1] if after else None, limit))


async def _read(conn: asyncpg.Connection, where: str, args: tuple[Any, ...]) -> list[SweepRead]:
    sweeps = await conn.fetch(f"SELECT * FROM retention_sweep WHERE {where}", *args)
    if not sweeps:
        return []
    ids = [s["id"] for s in sweeps]
    stores = await conn.fetch(
        "SELECT * FROM retention_sweep_store WHERE sweep_id = ANY($1::uuid[]) ORDER BY store", ids)
    items = await conn.fetch(
        """SELECT * FROM retention_sweep_item WHERE sweep_id = ANY($1::uuid[])
           ORDER BY store, planned DESC, category""", ids)
    # What the sweep's finished jobs removed, per store and category, from the stores' answers.
    answers = await conn.fetch(
        """SELECT DISTINCT i.sweep_id, i.job_id, s.store, s.counts
           FROM retention_sweep_item i
           JOIN erasure_job j ON j.id = i.job_id AND j.status LIKE 'completed%'
           JOIN erasure_job_store s ON s.job_id = j.id
           WHERE i.sweep_id = ANY($1::uuid[])""", ids)
    removed: dict[tuple[uuid.UUID, str, str], int] = {}
    for a in answers:
        for category, n in json.loads(a["counts"] or "{}").items():
            key = (a["sweep_id"], a["store"], category)
            removed[key] = removed.get(key, 0) + n
    return [_view(s, [st for st in stores if st["sweep_id"] == s["id"]],
                  [i for i in items if i["sweep_id"] == s["id"]], removed) for s in sweeps]


def _view(sweep: asyncpg.Record, stores: list[asyncpg.Record], items: list[asyncpg.Record],
          removed: dict[tuple[uuid.UUID, str, str], int]) -> SweepRead:
    acted = sweep["status"] == "completed"
    views = []
    known = {(i["store"], i["category"]) for i in items}
    rows: list[dict[str, Any]] = [dict(i) for i in items]
    # Categories a store's jobs removed that neither a rule nor the dry run named.
    rows += [{"store": store, "category": category, "planned": False, "counted": None}
             for (sid, store, category) in removed
             if sid == sweep["id"] and (store, category) not in known]
    for item in rows:
        gone = removed.get((sweep["id"], item["store"], item["category"]), 0) if acted else None
        counted = item.get("counted")
        views.append(SweepItem(
            **{k: item.get(k) for k in ("store", "category", "planned", "period", "clock",
                                        "action", "cutoff", "job_id")},
            auto_approve=bool(item.get("auto_approve")), counted=counted, removed=gone,
            difference=None if gone is None else (counted or 0) - gone))
    counted_total = sum(i.counted or 0 for i in views)
    removed_total = sum(i.removed or 0 for i in views) if acted else None
    return SweepRead(
        **{k: sweep[k] for k in ("id", "status", "trigger", "requested_by", "created_at",
                                 "counted_at", "approved_by", "approved_at", "completed_at",
                                 "superseded_by")},
        stores={s["store"]: s["counted_at"] for s in stores},
        items=views,
        totals=SweepTotals(counted=counted_total, removed=removed_total,
                           difference=None if removed_total is None
                           else counted_total - removed_total))


async def start_scheduled(*, conn: asyncpg.Connection, source: str) -> uuid.UUID | None:
    """The scheduled dry run, unless the previous one is still counting (a store is away)."""
    if await conn.fetchval("SELECT 1 FROM retention_sweep WHERE status = 'counting'"):
        return None
    return await start_sweep(conn=conn, requested_by="schedule", trigger="schedule",
                             source=source)
