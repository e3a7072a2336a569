"""The training catalogue and its anonymous benchmarks."""

from __future__ import annotations

import uuid

import asyncpg

from privacy_kit.paging import PageParams
from privacy_kit.sorting import Ordering, SortOrder
from training_records.trainings.models import (
    Benchmark,
    ModuleBenchmark,
    ModuleRead,
    TrainingCreate,
    TrainingRead,
)


async def create(*, conn: asyncpg.Connection, body: TrainingCreate) -> TrainingRead:
    training_id = uuid.uuid4()
    row = await conn.fetchrow(
        "INSERT INTO training (id, title, description) VALUES ($1, $2, $3) RETURNING created_at",
        training_id, body.title, body.description,
    )
    modules = [ModuleRead(id=uuid.uuid4(), position=i, title=m.title)
               for i, m in enumerate(body.modules, start=1)]
    await conn.executemany(
        "INSERT INTO training_module (id, training_id, position, title) VALUES ($1, $2, $3, $4)",
        [(m.id, training_id, m.position, m.title) for m in modules],
    )
    return TrainingRead(id=training_id, title=body.title, description=body.description,
                        modules=modules, created_at=row["created_at"])


ORDERING = Ordering(
    {"created_at": ("created_at", "timestamptz"), "title": ("title", "text")},
    tiebreak=("id", "uuid"), default="created_at",
)


async def list_page(
    *, conn: asyncpg.Connection, page: PageParams, sort: SortOrder
) -> list[TrainingRead]:
    where, order_by, args = sort.keyset(page, first_param=1)
    rows = await conn.fetch(
        f"""SELECT id, title, description, created_at FROM training WHERE {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""", *args)
    modules = await conn.fetch(
        """SELECT id, training_id, position, title FROM training_module
           WHERE training_id = ANY($1::uuid[]) ORDER BY position""", [r["id"] for r in rows])
    by_training: dict[uuid.UUID, list[ModuleRead]] = {}
    for m in modules:
        by_training.setdefault(m["training_id"], []).append(
            ModuleRead(id=m["id"], position=m["position"], title=m["title"]))
    return [TrainingRead(**dict(r), modules=by_training.get(r["id"], [])) for r in rows]


async def get(*, conn: asyncpg.Connection, training_id: uuid.UUID) -> TrainingRead | None:
    row = await conn.fetchrow(
        "SELECT id, title, description, created_at FROM training WHERE id = $1", training_id)
    if row is None:
        return None
    modules = await conn.fetch(
        "SELECT id, position, title FROM training_module WHERE training_id = $1 ORDER BY position",
        training_id)
    return TrainingRead(**dict(row), modules=[ModuleRead(**dict(m)) for m in modules])


async def benchmark(
    *, conn: asyncpg.Connection, training_id: uuid.UUID, minimum_group: int
) -> Benchmark:
    """Latest result of each current participant plus the aggregate left by erased ones.

    People who opted out of anonymised data (O13) are left out while they are still here, so
    that erasing them changes nothing: the benchmark is the same before and after an erasure.
    """
    row = await conn.fetchrow(
        """WITH live AS (
               SELECT DISTINCT ON (participant_id) score, passed FROM result r
               WHERE training_id = $1 AND NOT EXISTS (
                   SELECT 1 FROM anonymisation_opt_out o
                   WHERE o.subject_id = r.participant_id AND o.opted_out)
               ORDER BY participant_id, recorded_at DESC, id)
           SELECT (SELECT count(*) FROM live) + coalesce(b.participants, 0) AS participants,
                  (SELECT coalesce(sum(score), 0) FROM live) + coalesce(b.score_sum, 0) AS score_sum,
                  (SELECT count(*) FILTER (WHERE passed) FROM live) + coalesce(b.passed, 0)
                      AS passed
           FROM (SELECT 1) one
           LEFT JOIN training_benchmark b ON b.training_id = $1""",
        training_id,
    )
    n = int(row["participants"])
    suppressed = n < max(minimum_group, 1)
    modules = await conn.fetch(
        """SELECT m.id AS module_id,
                  count(p.participant_id) + coalesce(max(b.participants), 0) AS participants,
                  count(p.completed_at) + coalesce(max(b.completed), 0) AS completed,
                  coalesce(sum(p.time_spent_s), 0) + coalesce(max(b.time_spent_s), 0) AS spent
           FROM training_module m
           LEFT JOIN module_progress p ON p.module_id = m.id AND NOT EXISTS (
               SELECT 1 FROM anonymisation_opt_out o
               WHERE o.subject_id = p.participant_id AND o.opted_out)
           LEFT JOIN module_benchmark b ON b.module_id = m.id
           WHERE m.training_id = $1 GROUP BY m.id, m.position ORDER BY m.position""",
        training_id,
    )
    return Benchmark(
        training_id=training_id, participants=n,
        mean_score=None if suppressed else round(float(row["score_sum"]) / n, 2),
        pass_rate=None if suppressed else round(int(row["passed"]) / n, 4),
        suppressed=suppressed, minimum_group=minimum_group,
        modules=[ModuleBenchmark(
            module_id=m["module_id"], participants=m["participants"], completed=m["completed"],
            mean_time_spent_s=None if m["participants"] < max(minimum_group, 1)
            else round(int(m["spent"]) / m["participants"], 1)) for m in modules],
    )
