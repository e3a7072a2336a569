"""Assignments, module progress, login times and results. The caller owns the transaction."""

from __future__ import annotations

import uuid

import asyncpg

from privacy_kit.errors import ApiError
from privacy_kit.paging import PageParams
from privacy_kit.sorting import Ordering, SortOrder
from training_records.access import not_found
from training_records.learning.models import (
    AssignmentCreate,
    AssignmentRead,
    LoginRead,
    ProgressRead,
    ProgressUpdate,
    ResultCreate,
    ResultRead,
)

_ASSIGNMENT = "id, tenant_id, training_id, participant_id, assigned_by, assigned_at, due_date"
_RESULT = "id, participant_id, training_id, score::float AS score, passed, recorded_at"


async def assign(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, body: AssignmentCreate, actor: str
) -> AssignmentRead:
    if not await conn.fetchval("SELECT 1 FROM training WHERE id = $1", body.training_id):
        raise not_found("training")
    row = await conn.fetchrow(
        f"""INSERT INTO assignment (id, tenant_id, training_id, participant_id, assigned_by,
                                    due_date)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (participant_id, training_id) DO NOTHING RETURNING {_ASSIGNMENT}""",
        uuid.uuid4(), tenant_id, body.training_id, body.participant_id, actor, body.due_date,
    )
    if row is None:
        raise ApiError(409, "already_assigned", "This training is already assigned to them.")
    return AssignmentRead(**dict(row))


ASSIGNMENT_ORDERING = Ordering(
    {"assigned_at": ("a.assigned_at", "timestamptz")}, tiebreak=("a.id", "uuid"),
    default="assigned_at",
)
PROGRESS_ORDERING = Ordering(
    {"training": ("m.training_id", "uuid")}, tiebreak=("m.position", "integer"),
    default="training", keys={"training": "training_id"}, tiebreak_key="position",
)
LOGIN_ORDERING = Ordering(
    {"logged_in_at": ("logged_in_at", "timestamptz")}, tiebreak=("id", "bigint"),
    default="-logged_in_at",
)
RESULT_ORDERING = Ordering(
    {"recorded_at": ("r.recorded_at", "timestamptz")}, tiebreak=("r.id", "uuid"),
    default="recorded_at",
)


async def assignments_of_tenant(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, training_id: uuid.UUID | None,
    page: PageParams, sort: SortOrder,
) -> list[asyncpg.Record]:
    where, order_by, args = sort.keyset(page, first_param=3)
    return list(await conn.fetch(
        f"""SELECT {", ".join("a." + c for c in _ASSIGNMENT.split(", "))},
                   p.restricted_at IS NOT NULL AS restricted
            FROM assignment a JOIN person p ON p.id = a.participant_id
            WHERE a.tenant_id = $1 AND ($2::uuid IS NULL OR a.training_id = $2) AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""",
        tenant_id, training_id, *args,
    ))


async def assignments_of(
    *, conn: asyncpg.Connection, participant_id: uuid.UUID, page: PageParams, sort: SortOrder,
) -> list[AssignmentRead]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT {", ".join("a." + c for c in _ASSIGNMENT.split(", "))} FROM assignment a
            WHERE a.participant_id = $1 AND {where} ORDER BY {order_by}
            LIMIT {page.limit + 1}""",
        participant_id, *args)
    return [AssignmentRead(**dict(r)) for r in rows]


async def assignment_for(
    *, conn: asyncpg.Connection, participant_id: uuid.UUID, training_id: uuid.UUID
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT id FROM assignment WHERE participant_id = $1 AND training_id = $2",
        participant_id, training_id)
    if row is None:
        raise ApiError(409, "not_assigned",
                       "This training is not assigned to this participant by their organisation.")
    return row


async def record_progress(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, participant_id: uuid.UUID,
    module_id: uuid.UUID, body: ProgressUpdate,
) -> ProgressRead:
    module = await conn.fetchrow(
        "SELECT training_id, position FROM training_module WHERE id = $1", module_id)
    if module is None:
        raise not_found("module")
    await assignment_for(conn=conn, participant_id=participant_id,
                         training_id=module["training_id"])
    row = await conn.fetchrow(
        """INSERT INTO module_progress AS p (participant_id, module_id, tenant_id, completed_at,
                                             time_spent_s)
           VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END, $5)
           ON CONFLICT (participant_id, module_id) DO UPDATE SET
               completed_at = CASE WHEN $4 THEN coalesce(p.completed_at, now()) END,
               time_spent_s = greatest(p.time_spent_s, EXCLUDED.time_spent_s)
           RETURNING started_at, completed_at, time_spent_s""",
        participant_id, module_id, tenant_id, body.completed, body.time_spent_s,
    )
    return ProgressRead(training_id=module["training_id"], module_id=module_id,
                        position=module["position"], **dict(row))


async def progress_of(
    *, conn: asyncpg.Connection, participant_id: uuid.UUID, page: PageParams, sort: SortOrder,
) -> list[ProgressRead]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT m.training_id, p.module_id, m.position, p.started_at, p.completed_at,
                   p.time_spent_s
            FROM module_progress p JOIN training_module m ON m.id = p.module_id
            WHERE p.participant_id = $1 AND {where} ORDER BY {order_by}
            LIMIT {page.limit + 1}""",
        participant_id, *args)
    return [ProgressRead(**dict(r)) for r in rows]


async def record_login(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, participant_id: uuid.UUID
) -> LoginRead:
    row = await conn.fetchrow(
        "INSERT INTO login (participant_id, tenant_id) VALUES ($1, $2) "
        "RETURNING id, logged_in_at",
        participant_id, tenant_id)
    return LoginRead(**dict(row))


async def logins_of(
    *, conn: asyncpg.Connection, participant_id: uuid.UUID, page: PageParams, sort: SortOrder,
) -> list[LoginRead]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT id, logged_in_at FROM login WHERE participant_id = $1 AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""", participant_id, *args)
    return [LoginRead(**dict(r)) for r in rows]


async def record_result(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, participant_id: uuid.UUID,
    body: ResultCreate, actor: str,
) -> ResultRead:
    await assignment_for(conn=conn, participant_id=participant_id, training_id=body.training_id)
    row = await conn.fetchrow(
        f"""INSERT INTO result (id, tenant_id, participant_id, training_id, score, passed,
                                recorded_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_RESULT}""",
        uuid.uuid4(), tenant_id, participant_id, body.training_id, body.score, body.passed, actor)
    return ResultRead(**dict(row))


async def results_of(
    *, conn: asyncpg.Connection, participant_id: uuid.UUID, page: PageParams, sort: SortOrder,
) -> list[ResultRead]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT {", ".join("r." + c for c in _RESULT.split(", "))} FROM result r
            WHERE r.participant_id = $1 AND {where} ORDER BY {order_by}
            LIMIT {page.limit + 1}""",
        participant_id, *args)
    return [ResultRead(**dict(r)) for r in rows]


async def results_of_tenant(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, training_id: uuid.UUID | None,
    page: PageParams, sort: SortOrder,
) -> list[asyncpg.Record]:
    """Results of trainings the organisation assigned (every result has its assignment)."""
    where, order_by, args = sort.keyset(page, first_param=3)
    return list(await conn.fetch(
        f"""SELECT {", ".join("r." + c for c in _RESULT.split(", "))},
                   p.restricted_at IS NOT NULL AS restricted
            FROM result r JOIN person p ON p.id = r.participant_id
            JOIN assignment a ON a.participant_id = r.participant_id
                             AND a.training_id = r.training_id AND a.tenant_id = $1
            WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.training_id = $2) AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""",
        tenant_id, training_id, *args,
    ))
