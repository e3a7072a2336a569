"""Erasure jobs: one job per trigger, one acknowledgement per store that holds personal data."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from privacy_kit.events import Envelope, Topic
from privacy_kit.outbox import emit
from privacy_kit.provider import ERASURE_REQUESTED, forget_subject_events
from retention.erasure import certificate
from retention.erasure.models import ErasureJobCreate

ERASURE_JOB_COMPLETED = "erasure.job_completed"


class NoStoresKnown(Exception):
    """No store has published its inventory yet: a job now would prove nothing."""


class UnderLegalHold(Exception):
    pass


async def stores_with_personal_data(*, conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch("SELECT store FROM store_inventory WHERE personal ORDER BY store")
    return [r["store"] for r in rows]


async def held_subjects(*, conn: asyncpg.Connection, tenant_id: str | None = None) -> list[str]:
    rows = await conn.fetch(
        """SELECT DISTINCT subject_id FROM legal_hold
           WHERE released_at IS NULL AND subject_id IS NOT NULL
             AND ($1::text IS NULL OR tenant_id IS NULL OR tenant_id = $1)""",
        tenant_id,
    )
    return [r["subject_id"] for r in rows]


async def tenant_on_hold(*, conn: asyncpg.Connection, tenant_id: str) -> bool:
    return bool(
        await conn.fetchval(
            """SELECT 1 FROM legal_hold WHERE released_at IS NULL
               AND tenant_id = $1 AND subject_id IS NULL""",
            tenant_id,
        )
    )


async def create_job(
    *,
    conn: asyncpg.Connection,
    request: ErasureJobCreate,
    requested_by: str,
    trigger: str,
    secret: str,
    deadline: timedelta,
    source: str,
) -> uuid.UUID:
    stores = await stores_with_personal_data(conn=conn)
    if not stores:
        raise NoStoresKnown
    held: list[str] = []
    if request.scope == "subject":
        assert request.subject_id is not None
        if request.subject_id in await held_subjects(conn=conn):
            raise UnderLegalHold
    else:
        if request.scope == "tenant" and request.tenant_id:
            if await tenant_on_hold(conn=conn, tenant_id=request.tenant_id):
                raise UnderLegalHold
        held = await held_subjects(conn=conn, tenant_id=request.tenant_id)
    job_id = uuid.uuid4()
    now = datetime.now(UTC)
    hashed = certificate.subject_hash(secret, request.subject_id) if request.subject_id else None
    await conn.execute(
        """INSERT INTO erasure_job (id, scope, subject_id, subject_hash, tenant_id, category,
               older_than, reason, trigger, requested_by, created_at, deadline_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        job_id, request.scope, request.subject_id, hashed, request.tenant_id, request.category,
        request.older_than, request.reason, trigger, requested_by, now, now + deadline,
    )
    await conn.executemany(
        "INSERT INTO erasure_job_store (job_id, store) VALUES ($1, $2)",
        [(job_id, store) for store in stores],
    )
    await _request(conn=conn, job_id=job_id, stores=stores, held=held, source=source)
    return job_id


async def _request(
    *, conn: asyncpg.Connection, job_id: uuid.UUID, stores: list[str], held: list[str], source: str
) -> None:
    job = await conn.fetchrow("SELECT * FROM erasure_job WHERE id = $1", job_id)
    assert job is not None
    scope = {
        "kind": job["scope"],
        "subject_id": job["subject_id"],
        "tenant_id": job["tenant_id"],
        "category": job["category"],
        "older_than": job["older_than"].isoformat() if job["older_than"] else None,
        "held_subject_ids": held,
    }
    await emit(
        conn,
        Topic.ERASURE,
        Envelope(
            type=ERASURE_REQUESTED,
            source=source,
            tenant_id=job["tenant_id"],
            subject_id=job["subject_id"],
            correlation_id=str(job_id),
            data={"job_id": str(job_id), "scope": scope, "stores": stores,
                  "deadline_at": job["deadline_at"].isoformat()},
        ),
        key=job["subject_id"] or job["tenant_id"] or str(job_id),
    )


async def acknowledge(
    *, conn: asyncpg.Connection, job_id: str, store: str, counts: dict[str, int], erased: int,
    secret: str, source: str,
) -> bool:
    """Record a store's answer; returns True when this answer completed the job."""
    updated = await conn.execute(
        """UPDATE erasure_job_store SET status = 'completed', counts = $3::jsonb, erased = $4,
               acknowledged_at = now()
           WHERE job_id = $1 AND store = $2 AND status = 'pending'""",
        uuid.UUID(job_id), store, json.dumps(counts), erased,
    )
    if updated.endswith(" 0"):
        return False  # unknown job, a store not asked, or a repeated answer
    pending = await conn.fetchval(
        "SELECT count(*) FROM erasure_job_store WHERE job_id = $1 AND status = 'pending'",
        uuid.UUID(job_id),
    )
    if pending:
        return False
    await _complete(conn=conn, job_id=uuid.UUID(job_id), secret=secret, source=source)
    return True


async def _complete(*, conn: asyncpg.Connection, job_id: uuid.UUID, secret: str, source: str) -> None:
    job = await conn.fetchrow("SELECT * FROM erasure_job WHERE id = $1 FOR UPDATE", job_id)
    assert job is not None
    stores = await conn.fetch(
        "SELECT store, counts, erased, acknowledged_at FROM erasure_job_store WHERE job_id = $1 ORDER BY store",
        job_id,
    )
    completed_at = datetime.now(UTC)
    body: dict[str, Any] = {
        "certificate": "erasure",
        "job_id": str(job_id),
        "scope": job["scope"],
        "subject_hash": job["subject_hash"],
        "tenant_id": job["tenant_id"],
        "category": job["category"],
        "reason": job["reason"],
        "trigger": job["trigger"],
        "requested_at": job["created_at"].isoformat(),
        "completed_at": completed_at.isoformat(),
        "stores": {
            r["store"]: {
                "erased": r["erased"],
                "counts": json.loads(r["counts"]) if r["counts"] else {},
                "acknowledged_at": r["acknowledged_at"].isoformat(),
            }
            for r in stores
        },
        "issued_by": source,
    }
    body["signature"] = certificate.sign(secret, body)
    subject_id = job["subject_id"]
    await conn.execute(
        """UPDATE erasure_job SET status = 'completed', completed_at = $2, certificate = $3::jsonb,
               subject_id = NULL
           WHERE id = $1""",
        job_id, completed_at, json.dumps(body),
    )
    if subject_id:
        await forget_subject_events(conn, subject_id)
    await emit(
        conn,
        Topic.ERASURE,
        Envelope(type=ERASURE_JOB_COMPLETED, source=source, tenant_id=job["tenant_id"],
                 correlation_id=str(job_id),
                 data={"job_id": str(job_id), "stores": [r["store"] for r in stores],
                       "erased": sum(r["erased"] or 0 for r in stores)}),
        key=str(job_id),
    )


_JOB_FIELDS = ("id", "status", "scope", "subject_hash", "tenant_id", "category", "reason",
               "trigger", "overdue", "created_at", "deadline_at", "completed_at")


def _job_view(job: asyncpg.Record, stores: list[asyncpg.Record]) -> dict[str, Any]:
    return {
        **{k: job[k] for k in _JOB_FIELDS},
        "certificate": json.loads(job["certificate"]) if job["certificate"] else None,
        "stores": {
            r["store"]: {
                "status": r["status"],
                "erased": r["erased"],
                "counts": json.loads(r["counts"]) if r["counts"] else None,
                "acknowledged_at": r["acknowledged_at"],
            }
            for r in stores
        },
    }


async def get_job(*, conn: asyncpg.Connection, job_id: uuid.UUID) -> dict[str, Any] | None:
    jobs = await _jobs_with_stores(conn=conn, where="id = $1", args=(job_id,))
    return jobs[0] if jobs else None


async def list_jobs(*, conn: asyncpg.Connection, status: str | None, limit: int) -> list[dict[str, Any]]:
    return await _jobs_with_stores(
        conn=conn, where="($1::text IS NULL OR status = $1) ORDER BY created_at DESC LIMIT $2",
        args=(status, limit),
    )


async def _jobs_with_stores(
    *, conn: asyncpg.Connection, where: str, args: tuple[Any, ...]
) -> list[dict[str, Any]]:
    """The jobs and all their stores' answers in two queries, whatever the number of jobs."""
    jobs = await conn.fetch(f"SELECT * FROM erasure_job WHERE {where}", *args)
    if not jobs:
        return []
    stores = await conn.fetch(
        "SELECT * FROM erasure_job_store WHERE job_id = ANY($1::uuid[]) ORDER BY store",
        [j["id"] for j in jobs],
    )
    by_job: dict[uuid.UUID, list[asyncpg.Record]] = {j["id"]: [] for j in jobs}
    for row in stores:
        by_job[row["job_id"]].append(row)
    return [_job_view(j, by_job[j["id"]]) for j in jobs]


async def reemit_overdue(
    *, conn: asyncpg.Connection, deadline: timedelta, source: str,
    first_after: timedelta = timedelta(seconds=10), longest_pause: timedelta = timedelta(minutes=5),
) -> int:
    """Ask the stores that have not answered again: `first_after` the request, then after
    twice as long each time (at most `longest_pause`), so an acknowledgement lost with a broker
    costs seconds, not the deadline. A job past its deadline is flagged overdue."""
    jobs = await conn.fetch(
        """SELECT id, tenant_id, reemitted, deadline_at < now() AS late FROM erasure_job
           WHERE status = 'pending'
             AND (coalesce(reemit_at, created_at + $1::interval) < now() OR deadline_at < now())
           FOR UPDATE SKIP LOCKED""",
        first_after,
    )
    for job in jobs:
        pending = await conn.fetch(
            "SELECT store FROM erasure_job_store WHERE job_id = $1 AND status = 'pending'", job["id"]
        )
        pause = min(first_after * 2 ** min(job["reemitted"] + 1, 20), longest_pause)
        await conn.execute(
            """UPDATE erasure_job SET overdue = overdue OR $2, reemitted = reemitted + 1,
                   reemit_at = now() + $3::interval,
                   deadline_at = CASE WHEN $2 THEN now() + $4::interval ELSE deadline_at END
               WHERE id = $1""",
            job["id"], job["late"], pause, deadline,
        )
        held = await held_subjects(conn=conn, tenant_id=job["tenant_id"])
        await _request(conn=conn, job_id=job["id"], stores=[r["store"] for r in pending],
                       held=held, source=source)
    return len(jobs)
