"""Erasure jobs: one job per trigger, one acknowledgement per store that holds personal data."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from privacy_kit.outbox import emit, forget_subject_events
from privacy_kit.protocol import ErasureJobCompleted, ErasureRequested, ErasureScope
from retention.erasure import certificate
from retention.erasure.models import REASON_CODES, ErasureJobCreate
from retention.erasure.tenancy import TenantUnresolved
from retention.keys import ProofKeys
from retention.legal_hold import service as holds
from retention.replay import service as replay


class NoStoresKnown(Exception):
    """No store is expected and none has published its inventory: a job would prove nothing."""


class UnderLegalHold(Exception):
    pass


# Who a subject belongs to (O17): retention.erasure.tenancy.subject_tenant, bound to settings.
TenantOf = Callable[[str], Awaitable[str | None]]


class UnknownCategory(Exception):
    """No store declares the category (O15): a category job would reach nothing."""

    def __init__(self, category: str, known: list[str]) -> None:
        super().__init__(category)
        self.category = category
        self.known = known


async def stores_to_reach(
    *, conn: asyncpg.Connection, expected: list[str], category: str | None = None
) -> list[str]:
    """The stores a job must reach (O25): every expected store of the deployment, whether it has
    announced itself or not, and every store that declared personal data; not those known to
    hold none. A category job reaches the stores that declare the category and the expected
    ones still unheard of (they may hold it)."""
    return _stores_from(await _inventory(conn), expected, category)


async def _inventory(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT store, personal, categories FROM store_inventory")


def _stores_from(rows: list[asyncpg.Record], expected: list[str], category: str | None) -> list[str]:
    known = {r["store"]: r for r in rows}
    unheard = [s for s in expected if s not in known]
    if category is not None:
        declaring = [s for s, r in known.items()
                     if any(c.get("name") == category for c in json.loads(r["categories"]))]
        return sorted({*declaring, *unheard})
    return sorted({*unheard, *(s for s in expected if known.get(s) and known[s]["personal"]),
                   *(s for s, r in known.items() if r["personal"])})


async def known_categories(*, conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """SELECT DISTINCT c->>'name' AS name FROM store_inventory,
               jsonb_array_elements(categories) c ORDER BY 1""")
    return [r["name"] for r in rows]


async def create_job(
    *,
    conn: asyncpg.Connection,
    request: ErasureJobCreate,
    requested_by: str,
    trigger: str,
    secret: str,
    deadline: timedelta,
    source: str,
    expected_stores: list[str] | None = None,
    tenant_of: TenantOf | None = None,
    hold_when_unresolved: bool = False,
) -> uuid.UUID:
    """Make a job. A subject job first asks `tenant_of` whose participant the subject is: while a
    hold on that whole tenant stands, the job is made `held` (named by the hold) and reaches no
    store until the hold is released (O17). When the tenant cannot be found out, the job is held
    too (`hold_when_unresolved`, for requests arriving as events) or TenantUnresolved is raised
    (an API caller is told to try again)."""
    if request.scope == "category":
        assert request.category is not None
        known = await known_categories(conn=conn)
        if request.category not in known:
            raise UnknownCategory(request.category, known)
    inventory = await _inventory(conn)
    stores = _stores_from(inventory, list(expected_stores or []),
                          request.category if request.scope == "category" else None)
    if not stores:
        raise NoStoresKnown
    subject_tenant: str | None = None
    held: tuple[str, uuid.UUID | None] | None = None
    if request.scope == "subject":
        assert request.subject_id is not None
        if await holds.subject_on_hold(conn=conn, subject_id=request.subject_id):
            raise UnderLegalHold
        # Asked of training-records, which knows who belongs where, where it takes part and
        # has ever started (announced its inventory): one that never ran holds no one.
        if tenant_of is not None and "training-records" in stores and _tenants_known(inventory):
            try:
                subject_tenant = await tenant_of(request.subject_id)
            except TenantUnresolved:
                if not hold_when_unresolved:
                    raise
                held = ("tenant_unresolved", None)
        if subject_tenant is not None:
            hold_id = await holds.tenant_hold(conn=conn, tenant_id=subject_tenant)
            if hold_id is not None:
                held = ("tenant_on_hold", hold_id)
    elif request.scope == "tenant" and request.tenant_id:
        if await holds.tenant_on_hold(conn=conn, tenant_id=request.tenant_id):
            raise UnderLegalHold
    scope = ErasureScope(
        kind=request.scope, subject_id=request.subject_id, tenant_id=request.tenant_id,
        category=request.category, older_than=request.older_than,
    )
    return await start_job(conn=conn, scope=scope, stores=stores, reason=request.reason,
                           reason_code=request.reason_code, reference=request.reference,
                           trigger=trigger, requested_by=requested_by, secret=secret,
                           deadline=deadline, source=source, held=held,
                           subject_tenant=subject_tenant)


def _tenants_known(inventory: list[asyncpg.Record]) -> bool:
    return any(r["store"] == "training-records" for r in inventory)


async def asks_tenant(*, conn: asyncpg.Connection, expected: list[str]) -> bool:
    """Whether `create_job` would ask training-records whose participant a subject is: it takes
    part in subject jobs (expected, or declared personal data) and has announced itself. Lets a
    view ask before it takes a pooled connection for the job (the answer goes in `tenant_of`)."""
    inventory = await _inventory(conn)
    return "training-records" in _stores_from(inventory, expected, None) \
        and _tenants_known(inventory)


async def start_job(
    *, conn: asyncpg.Connection, scope: ErasureScope, stores: list[str], reason: str | None,
    trigger: str, requested_by: str, secret: str, deadline: timedelta, source: str,
    follows_job_id: uuid.UUID | None = None, reason_code: str | None = None,
    reference: str | None = None, held: tuple[str, uuid.UUID | None] | None = None,
    subject_tenant: str | None = None,
) -> uuid.UUID:
    """Write the job, one row per store it must reach, the holds that touch its scope, and the
    request to those stores. Without a reason code, a reason that is itself a code is taken
    as the code, else `other` (the certificate carries the code, never the reason)."""
    if reason_code is None:
        reason_code = reason if reason in REASON_CODES else "other"
    job_id = uuid.uuid4()
    now = datetime.now(UTC)
    scope, hold_ids = await holds.apply_holds(conn=conn, scope=scope.without_holds())
    hashed = certificate.subject_hash(secret, scope.subject_id) if scope.subject_id else None
    # The job and its stores' rows in one statement.
    await conn.execute(
        """WITH job AS (
               INSERT INTO erasure_job (id, scope, subject_id, subject_hash, tenant_id, category,
                   older_than, reason, trigger, requested_by, created_at, deadline_at,
                   request_scope, follows_job_id, reason_code, reference, status, held_reason,
                   held_by, subject_tenant_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15,
                       $16, $17, $18, $19, $20)
               RETURNING id)
           INSERT INTO erasure_job_store (job_id, store)
           SELECT job.id, store FROM job, unnest($21::text[]) AS store""",
        job_id, scope.kind, scope.subject_id, hashed, scope.tenant_id, scope.category,
        scope.older_than, reason, trigger, requested_by, now, now + deadline,
        scope.model_dump_json(), follows_job_id, reason_code, reference,
        "held" if held else "pending", held[0] if held else None, held[1] if held else None,
        subject_tenant, stores,
    )
    if hold_ids:
        await conn.executemany(
            "INSERT INTO erasure_job_hold (job_id, hold_id) VALUES ($1, $2)",
            [(job_id, hold_id) for hold_id in hold_ids],
        )
    if not held:
        await _request(conn=conn, job_id=job_id, scope=scope, stores=stores,
                       deadline_at=now + deadline, source=source)
    return job_id


async def resume_held(
    *, conn: asyncpg.Connection, deadline: timedelta, source: str,
    tenant_of: TenantOf | None = None, hold_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Start the held jobs whose hold is released (O17): each is asked of its stores now, with a
    fresh deadline, unless another hold on the subject's tenant (or, by now, on the subject)
    stands, which then names the job. With `tenant_of`, jobs whose tenant could not be found out
    are asked again. With `hold_id`, only the jobs that hold kept. Returns the jobs started."""
    rows = await conn.fetch(
        """SELECT j.id, j.subject_id, j.subject_tenant_id, j.held_reason,
                  j.request_scope::text AS request_scope FROM erasure_job j
           LEFT JOIN legal_hold h ON h.id = j.held_by
           WHERE j.status = 'held' AND ($1::uuid IS NULL OR j.held_by = $1)
             AND (h.released_at IS NOT NULL
                  OR (j.held_reason = 'tenant_unresolved' AND $2::boolean))
           ORDER BY j.created_at, j.id FOR UPDATE OF j SKIP LOCKED""",
        hold_id, tenant_of is not None)
    started = []
    for job in rows:
        tenant = job["subject_tenant_id"]
        if job["held_reason"] == "tenant_unresolved":
            assert tenant_of is not None
            try:
                tenant = await tenant_of(job["subject_id"])
            except TenantUnresolved:
                continue
        other, why = await holds.subject_hold(conn=conn, subject_id=job["subject_id"]), \
            "subject_on_hold"
        if other is None and tenant:
            other, why = await holds.tenant_hold(conn=conn, tenant_id=tenant), "tenant_on_hold"
        if other is not None:
            await conn.execute(
                """UPDATE erasure_job SET held_by = $2, held_reason = $4,
                       subject_tenant_id = $3 WHERE id = $1""", job["id"], other, tenant, why)
            continue
        deadline_at = datetime.now(UTC) + deadline
        await conn.execute(
            """UPDATE erasure_job SET status = 'pending', deadline_at = $2, reemit_at = NULL,
                   subject_tenant_id = $3 WHERE id = $1""", job["id"], deadline_at, tenant)
        stores = [r["store"] for r in await conn.fetch(
            "SELECT store FROM erasure_job_store WHERE job_id = $1 ORDER BY store", job["id"])]
        await _request(conn=conn, job_id=job["id"],
                       scope=ErasureScope.model_validate_json(job["request_scope"]),
                       stores=stores, deadline_at=deadline_at, source=source)
        started.append(job["id"])
    return started


async def _request(
    *, conn: asyncpg.Connection, job_id: uuid.UUID, scope: ErasureScope, stores: list[str],
    deadline_at: datetime, source: str,
) -> None:
    await emit(
        conn,
        ErasureRequested(job_id=job_id, scope=scope, stores=stores, deadline_at=deadline_at),
        source=source,
        tenant_id=scope.tenant_id,
        subject_id=scope.subject_id,
        correlation_id=str(job_id),
        key=scope.subject_id or scope.tenant_id or str(job_id),
    )


async def acknowledge(
    *, conn: asyncpg.Connection, job_id: uuid.UUID, store: str, counts: dict[str, int],
    erased: int, keys: ProofKeys, source: str, held: dict[str, int] | None = None,
) -> bool | None:
    """Record a store's answer; returns True when this answer completed the job, None when
    there is no such job (the answer may be to a replayed erasure, retention.replay).

    The job row is locked first, so answers handled at the same time are counted one after
    the other and exactly one of them completes the job. A stuck job completes too, once its
    last store answers; never before (O25).
    """
    job = await conn.fetchrow("SELECT * FROM erasure_job WHERE id = $1 FOR UPDATE", job_id)
    if job is None:
        return None
    if job["status"] not in ("pending", "stuck"):
        return False  # already completed
    # One statement after the lock: the answer, and every store's row as it was before it
    # (the statement's snapshot does not see its own update), so the answer is folded in here.
    answer = {"status": "completed", "counts": json.dumps(counts), "erased": erased,
              "held": json.dumps(held or {})}
    rows = await conn.fetch(
        """WITH answered AS (
               UPDATE erasure_job_store SET status = 'completed', counts = $3::jsonb,
                   erased = $4, acknowledged_at = now(), held = $5::jsonb
               WHERE job_id = $1 AND store = $2 AND status = 'pending'
               RETURNING store, acknowledged_at)
           SELECT s.store, s.status, s.counts::text AS counts, s.erased, s.held::text AS held,
                  s.acknowledged_at, a.acknowledged_at AS answered_at
           FROM erasure_job_store s LEFT JOIN answered a ON a.store = s.store
           WHERE s.job_id = $1 ORDER BY s.store""",
        job_id, store, answer["counts"], erased, answer["held"],
    )
    if not any(r["answered_at"] for r in rows):
        return False  # a store not asked, or a repeated answer
    stores = [({**dict(r), **answer, "acknowledged_at": r["answered_at"]} if r["answered_at"]
               else dict(r)) for r in rows]
    if any(r["status"] == "pending" for r in stores):
        return False
    await _complete(conn=conn, job=job, stores=stores, keys=keys, source=source)
    return True


def _held_counts(stores: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    held = {r["store"]: json.loads(r["held"]) for r in stores if r["held"]}
    return {store: counts for store, counts in held.items() if any(counts.values())}


async def _complete(
    *, conn: asyncpg.Connection, job: asyncpg.Record, stores: list[dict[str, Any]],
    keys: ProofKeys, source: str,
) -> None:
    """The job's certificate from its row and its stores' answers (both read by `acknowledge`
    under the job's lock)."""
    job_id = job["id"]
    completed_at = datetime.now(UTC)
    unsigned = certificate_body(job, stores, completed_at, source)
    # O17: what legal holds kept, per store, and on which lawful ground (never the reason).
    held = _held_counts(stores)
    status = "completed_with_holds" if held else "completed"
    if held:
        unsigned["held"] = held
        unsigned["holds"] = await holds.grounds_of(conn=conn, job_id=job_id)
    body = certificate.sign(keys.signing_key, unsigned)
    subject_id = job["subject_id"]
    await conn.execute(
        """UPDATE erasure_job SET status = $4, completed_at = $2, certificate = $3::jsonb,
               subject_id = NULL, request_scope = request_scope || '{"subject_id": null}',
               reason = NULL, subject_tenant_id = NULL
           WHERE id = $1""",
        job_id, completed_at, json.dumps(body), status,
    )
    await replay.log_erasure(conn=conn, job=job, completed_at=completed_at,
                            cipher=keys.replay_cipher)
    if subject_id:
        await forget_subject_events(conn, subject_id)
    await emit(
        conn,
        ErasureJobCompleted(job_id=job_id, stores=[r["store"] for r in stores],
                            erased=sum(r["erased"] or 0 for r in stores)),
        source=source, tenant_id=job["tenant_id"], correlation_id=str(job_id), key=str(job_id),
    )


def certificate_body(job: asyncpg.Record, stores: list[dict[str, Any]], completed_at: datetime,
                     source: str) -> dict[str, Any]:
    """What a certificate states: no subject id, no free-text reason, no name."""
    return {
        "certificate": "erasure",
        "format": 2,
        "job_id": str(job["id"]),
        "scope": job["scope"],
        "subject_hash": job["subject_hash"],
        "tenant_id": job["tenant_id"],
        "category": job["category"],
        "older_than": job["older_than"].isoformat() if job["older_than"] else None,
        "reason_code": job["reason_code"],
        "reference": job["reference"],
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


_JOB_FIELDS = ("id", "status", "scope", "subject_hash", "tenant_id", "category", "reason",
               "reason_code", "reference", "trigger", "overdue", "created_at", "deadline_at",
               "completed_at", "stuck_since", "follows_job_id", "held_reason")


def _job_view(job: asyncpg.Record, stores: list[asyncpg.Record],
              follow_ups: list[uuid.UUID], held_by: dict[str, Any] | None) -> dict[str, Any]:
    return {
        **{k: job[k] for k in _JOB_FIELDS},
        "certificate": json.loads(job["certificate"]) if job["certificate"] else None,
        "stores": {
            r["store"]: {
                "status": r["status"],
                "erased": r["erased"],
                "counts": json.loads(r["counts"]) if r["counts"] else None,
                "held": json.loads(r["held"]) if r["held"] else None,
                "acknowledged_at": r["acknowledged_at"],
            }
            for r in stores
        },
        "missing_stores": [r["store"] for r in stores if r["status"] == "pending"],
        "follow_up_jobs": follow_ups,
        "held_by": held_by,
    }


async def get_job(*, conn: asyncpg.Connection, job_id: uuid.UUID) -> dict[str, Any] | None:
    jobs = await _jobs_with_stores(conn=conn, where="id = $1", args=(job_id,))
    return jobs[0] if jobs else None


async def list_jobs(
    *, conn: asyncpg.Connection, status: str | None = None, scope: str | None = None,
    reason: str | None = None, created_after: datetime | None = None,
    created_before: datetime | None = None, after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first; `after` is the (created_at, id) of the last job of the previous page."""
    return await _jobs_with_stores(
        conn=conn,
        where="""($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR scope = $2)
                 AND ($3::text IS NULL OR reason ILIKE '%' || $3 || '%'
                      OR reason_code ILIKE '%' || $3 || '%' OR reference ILIKE '%' || $3 || '%'
                      OR trigger ILIKE '%' || $3 || '%')
                 AND ($4::timestamptz IS NULL OR created_at >= $4)
                 AND ($5::timestamptz IS NULL OR created_at < $5)
                 AND ($6::timestamptz IS NULL OR (created_at, id) < ($6, $7::uuid))
                 ORDER BY created_at DESC, id DESC LIMIT $8""",
        args=(status, scope, reason, created_after, created_before,
              after[0] if after else None, after[1] if after else None, limit),
    )


async def _jobs_with_stores(
    *, conn: asyncpg.Connection, where: str, args: tuple[Any, ...]
) -> list[dict[str, Any]]:
    """The jobs, all their stores' answers and their follow-ups in three queries, whatever the
    number of jobs."""
    jobs = await conn.fetch(f"SELECT * FROM erasure_job WHERE {where}", *args)
    if not jobs:
        return []
    ids = [j["id"] for j in jobs]
    stores = await conn.fetch(
        "SELECT * FROM erasure_job_store WHERE job_id = ANY($1::uuid[]) ORDER BY store", ids)
    follow_ups = await conn.fetch(
        """SELECT id, follows_job_id FROM erasure_job WHERE follows_job_id = ANY($1::uuid[])
           ORDER BY created_at, id""", ids)
    holding = [j["held_by"] for j in jobs if j["status"] == "held" and j["held_by"]]
    held_by = {r["id"]: dict(r) for r in await conn.fetch(
        """SELECT id, ground, reference, subject_id IS NOT NULL AS on_subject, tenant_id,
                  placed_at FROM legal_hold WHERE id = ANY($1::uuid[])""",
        holding)} if holding else {}
    by_job: dict[uuid.UUID, list[asyncpg.Record]] = {j["id"]: [] for j in jobs}
    for row in stores:
        by_job[row["job_id"]].append(row)
    follows: dict[uuid.UUID, list[uuid.UUID]] = {j["id"]: [] for j in jobs}
    for row in follow_ups:
        follows[row["follows_job_id"]].append(row["id"])
    return [_job_view(j, by_job[j["id"]], follows[j["id"]],
                      held_by.get(j["held_by"]) if j["status"] == "held" else None)
            for j in jobs]


async def stuck_jobs(*, conn: asyncpg.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """Stuck jobs and the stores they still wait for, for /healthz."""
    rows = await conn.fetch(
        """SELECT j.id, j.stuck_since, array_agg(s.store ORDER BY s.store) AS missing
           FROM erasure_job j JOIN erasure_job_store s ON s.job_id = j.id AND s.status = 'pending'
           WHERE j.status = 'stuck' GROUP BY j.id, j.stuck_since
           ORDER BY j.stuck_since, j.id LIMIT $1""", limit)
    return [{"id": str(r["id"]), "stuck_since": r["stuck_since"].isoformat(),
             "missing_stores": list(r["missing"])} for r in rows]


async def follow_up(
    *, conn: asyncpg.Connection, job_id: uuid.UUID, secret: str, deadline: timedelta,
    source: str, requested_by: str,
) -> uuid.UUID | None:
    """Erase what holds kept of a finished job, now that one of them is released: the same
    scope again (stores skip what they already erased), with the holds still active. Once."""
    job = await conn.fetchrow(
        """SELECT id, reason, reason_code, reference, request_scope::text AS request_scope
           FROM erasure_job
           WHERE id = $1 AND status = 'completed_with_holds' FOR UPDATE""", job_id)
    if job is None or await conn.fetchval(
            "SELECT 1 FROM erasure_job WHERE follows_job_id = $1", job_id):
        return None
    stores = [r["store"] for r in await conn.fetch(
        "SELECT store FROM erasure_job_store WHERE job_id = $1 ORDER BY store", job_id)]
    return await start_job(
        conn=conn, scope=ErasureScope.model_validate_json(job["request_scope"]), stores=stores,
        reason=job["reason"], reason_code=job["reason_code"], reference=job["reference"],
        trigger="legal_hold_released", requested_by=requested_by,
        secret=secret, deadline=deadline, source=source, follows_job_id=job_id)


async def jobs_kept_by(*, conn: asyncpg.Connection, hold_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT j.id FROM erasure_job_hold h JOIN erasure_job j ON j.id = h.job_id
           WHERE h.hold_id = $1 AND j.status = 'completed_with_holds'
           ORDER BY j.created_at, j.id""", hold_id)
    return [r["id"] for r in rows]


async def released_holds_of(*, conn: asyncpg.Connection, job_id: uuid.UUID) -> bool:
    """Whether a hold that kept part of this job has been released meanwhile."""
    return bool(await conn.fetchval(
        """SELECT 1 FROM erasure_job_hold h JOIN legal_hold l ON l.id = h.hold_id
           WHERE h.job_id = $1 AND l.released_at IS NOT NULL""", job_id))


async def reemit_overdue(
    *, conn: asyncpg.Connection, deadline: timedelta, source: str,
    first_after: timedelta = timedelta(seconds=10), longest_pause: timedelta = timedelta(minutes=5),
) -> int:
    """Ask the stores that have not answered again: `first_after` the request, then after
    twice as long each time (at most `longest_pause`), so an acknowledgement lost with a broker
    costs seconds, not the deadline. Jobs whose stores missed the deadline become `stuck` (O25).
    Stores answer a repeated request as the first (they erase what is left, nothing twice), and
    only their first answer counts."""
    jobs = await conn.fetch(
        """SELECT id, reemitted, deadline_at < now() AS late,
                  -- when the stores were asked: made, or started after a hold (a fresh deadline)
                  greatest(created_at, deadline_at - $2::interval) AS asked_at,
                  request_scope::text AS request_scope FROM erasure_job
           WHERE status IN ('pending', 'stuck')
             AND (coalesce(reemit_at, created_at + $1::interval) < now() OR deadline_at < now())
           FOR UPDATE SKIP LOCKED""",
        first_after, deadline,
    )
    # A store that answered jobs lately, but none made after this one was asked (`first_after` of
    # slack for partitions that run ahead of others), is working through a queue towards it:
    # behind, not deaf, and asking again would only lengthen its queue (under a mass erasure,
    # several times over). One that answered newer jobs but not this one lost the request; one
    # that answered nothing for three pauses may be down: both are asked again.
    answered = await _answered_up_to(conn, since=3 * first_after) if jobs else {}
    asked = 0
    for job in jobs:
        pending = await conn.fetch(
            "SELECT store FROM erasure_job_store WHERE job_id = $1 AND status = 'pending'", job["id"]
        )
        if not job["late"] and all(
                r["store"] in answered
                and answered[r["store"]] < job["asked_at"] + first_after for r in pending):
            # Every missing store is behind: it is not asked again for now.
            await conn.execute(
                "UPDATE erasure_job SET reemit_at = now() + $2::interval WHERE id = $1",
                job["id"], first_after)
            continue
        asked += 1
        pause = min(first_after * 2 ** min(job["reemitted"] + 1, 20), longest_pause)
        deadline_at = await conn.fetchval(
            """UPDATE erasure_job SET reemitted = reemitted + 1, reemit_at = now() + $3::interval,
                   overdue = overdue OR $2,
                   status = CASE WHEN $2 THEN 'stuck' ELSE status END,
                   stuck_since = CASE WHEN $2 THEN coalesce(stuck_since, now())
                                 ELSE stuck_since END,
                   deadline_at = CASE WHEN $2 THEN now() + $4::interval ELSE deadline_at END
               WHERE id = $1 RETURNING deadline_at""",
            job["id"], job["late"], pause, deadline,
        )
        scope = ErasureScope.model_validate_json(job["request_scope"])
        # Holds placed since the first request are honoured too.
        scope, hold_ids = await holds.apply_holds(conn=conn, scope=scope.without_holds())
        await conn.executemany(
            """INSERT INTO erasure_job_hold (job_id, hold_id) VALUES ($1, $2)
               ON CONFLICT DO NOTHING""", [(job["id"], h) for h in hold_ids])
        await _request(conn=conn, job_id=job["id"], scope=scope,
                       stores=[r["store"] for r in pending], deadline_at=deadline_at, source=source)
    return asked


async def _answered_up_to(conn: asyncpg.Connection, *, since: timedelta) -> dict[str, datetime]:
    """Per store that answered any job within `since`: the creation time of the newest job it
    answered. Open jobs and the jobs completed within `since` are looked at (few, and indexed),
    never the whole history; the completed ones count because the slowest store's answer is
    the one that completes a job."""
    rows = await conn.fetch(
        """SELECT store, max(created_at) AS newest FROM (
               SELECT s.store, j.created_at FROM erasure_job j
               JOIN erasure_job_store s ON s.job_id = j.id
               WHERE j.status IN ('pending', 'stuck') AND s.acknowledged_at > now() - $1::interval
               UNION ALL
               SELECT s.store, j.created_at FROM erasure_job j
               JOIN erasure_job_store s ON s.job_id = j.id
               WHERE j.completed_at > now() - $1::interval
                 AND s.acknowledged_at > now() - $1::interval) answered
           GROUP BY store""",
        since)
    return {r["store"]: r["newest"] for r in rows}
