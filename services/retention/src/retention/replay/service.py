"""The erasure log and its replay (O25): an erased person never comes back from a backup.

Every completed erasure job is written to `erasure_log`: its scope, the keyed hash of the
subject, and the subject id encrypted with REPLAY_KEY (Fernet). After a store's database is
restored from a backup taken at TIME, `replay` sends that store the erasure of every job
completed since TIME again, through the same `erasure.requested` event the store already
handles; the store answers with `erasure.completed` and the replay completes with a signed
summary. The plain subject id is needed on the wire because only the store can find the
person's rows, and it is what the original request carried too.

Why an encrypted id and not only the hash: a restored store holds the person under their id,
and matching hashes would mean every store hashing every id it holds with retention's key.
The encrypted id is kept only REPLAY_WINDOW_DAYS (as long as backups are kept); afterwards
only the hash remains and a replay reports those erasures as `skipped`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privacy_kit.db import rows_affected
from privacy_kit.outbox import emit
from privacy_kit.paging import Page, PageParams, page_of
from privacy_kit.protocol import ErasureRequested, ErasureScope
from retention import cursor
from retention.erasure import certificate
from retention.replay.models import ReplayItem, ReplayRead, ReplaySummary


class UnknownStore(Exception):
    def __init__(self, known: list[str]) -> None:
        super().__init__(f"known stores: {', '.join(known) or 'none yet'}")
        self.known = known


async def log_erasure(
    *, conn: asyncpg.Connection, job: asyncpg.Record, completed_at: datetime, cipher: Fernet
) -> None:
    """Keep a completed job in the erasure log (called as the job completes)."""
    scope = ErasureScope.model_validate_json(job["request_scope"])
    sealed = cipher.encrypt(job["subject_id"].encode()).decode() if job["subject_id"] else None
    await conn.execute(
        """INSERT INTO erasure_log (job_id, kind, subject_hash, subject_sealed, tenant_id,
               category, older_than, held_subject_ids, requested_at, completed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)
           ON CONFLICT (job_id) DO NOTHING""",
        job["id"], scope.kind, job["subject_hash"], sealed, scope.tenant_id, scope.category,
        scope.older_than, json.dumps(scope.held_subject_ids), job["created_at"], completed_at,
    )


async def forget_sealed_ids(*, conn: asyncpg.Connection, window: timedelta) -> int:
    """Past the backup window, only the hash of an erased subject stays."""
    return rows_affected(await conn.execute(
        """UPDATE erasure_log SET subject_sealed = NULL
           WHERE subject_sealed IS NOT NULL AND completed_at < now() - $1::interval""",
        window,
    ))


async def _erasures_since(
    conn: asyncpg.Connection, store: str, since: datetime, cipher: Fernet
) -> list[tuple[dict[str, Any], ErasureScope | None]]:
    """(item columns, scope to send or None when it cannot be sent), oldest first."""
    held_now = [r["subject_id"] for r in await conn.fetch(
        """SELECT DISTINCT subject_id FROM legal_hold
           WHERE released_at IS NULL AND subject_id IS NOT NULL""")]
    found: list[tuple[dict[str, Any], ErasureScope | None]] = []
    for row in await conn.fetch(
            "SELECT * FROM erasure_log WHERE completed_at >= $1 ORDER BY completed_at, job_id",
            since):
        subject_id = None
        if row["kind"] == "subject":
            try:
                subject_id = (cipher.decrypt(row["subject_sealed"].encode()).decode()
                              if row["subject_sealed"] else None)
            except InvalidToken:
                subject_id = None  # sealed with a key no longer configured
        item = {"job_id": row["job_id"], "kind": row["kind"], "subject_hash": row["subject_hash"],
                "tenant_id": row["tenant_id"], "category": row["category"]}
        if row["kind"] == "subject" and subject_id is None:
            found.append((item, None))
            continue
        held = sorted(set(json.loads(row["held_subject_ids"])) | set(held_now))
        found.append((item, ErasureScope(
            kind=row["kind"], subject_id=subject_id, tenant_id=row["tenant_id"],
            category=row["category"], older_than=row["older_than"],
            held_subject_ids=[] if row["kind"] == "subject" else held)))
    # Jobs still running that this store had already carried out: the restore undid that.
    for row in await conn.fetch(
            """SELECT j.id, j.scope, j.subject_hash, j.tenant_id, j.category,
                      j.request_scope::text AS request_scope
               FROM erasure_job j JOIN erasure_job_store s ON s.job_id = j.id
               WHERE j.completed_at IS NULL AND s.store = $1 AND s.acknowledged_at >= $2
               ORDER BY j.created_at, j.id""",
            store, since):
        item = {"job_id": row["id"], "kind": row["scope"], "subject_hash": row["subject_hash"],
                "tenant_id": row["tenant_id"], "category": row["category"]}
        found.append((item, ErasureScope.model_validate_json(row["request_scope"])))
    return found


async def start(
    *, conn: asyncpg.Connection, store: str, since: datetime, requested_by: str,
    cipher: Fernet, signing_key: Ed25519PrivateKey, deadline: timedelta, source: str,
) -> uuid.UUID:
    """Record a replay and ask the store again for every erasure since `since`."""
    known = [r["store"] for r in await conn.fetch("SELECT store FROM store_inventory ORDER BY store")]
    if store not in known:
        raise UnknownStore(known)
    replay_id = uuid.uuid4()
    now = datetime.now(UTC)
    await conn.execute(
        "INSERT INTO erasure_replay (id, store, since, requested_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        replay_id, store, since, requested_by, now,
    )
    items = []
    for item, scope in await _erasures_since(conn, store, since, cipher):
        item_id = uuid.uuid4()
        items.append((item_id, replay_id, item["job_id"], item["kind"], item["subject_hash"],
                      item["tenant_id"], item["category"], "pending" if scope else "skipped"))
        if scope is None:
            continue
        await emit(
            conn,
            ErasureRequested(job_id=item_id, scope=scope, stores=[store], deadline_at=now + deadline),
            source=source, tenant_id=scope.tenant_id, subject_id=scope.subject_id,
            correlation_id=str(replay_id), key=scope.subject_id or scope.tenant_id or str(item_id),
        )
    await conn.executemany(
        """INSERT INTO erasure_replay_item (id, replay_id, job_id, kind, subject_hash, tenant_id,
               category, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        items,
    )
    if not any(i[-1] == "pending" for i in items):
        await _complete(conn=conn, replay_id=replay_id, signing_key=signing_key, source=source)
    return replay_id


async def acknowledge(
    *, conn: asyncpg.Connection, item_id: uuid.UUID, store: str, counts: dict[str, int],
    erased: int, signing_key: Ed25519PrivateKey, source: str,
) -> bool:
    """Record a store's answer to a replayed erasure. False when `item_id` is not a replay's
    (then it is an ordinary job's answer)."""
    replay_id = await conn.fetchval(
        "SELECT replay_id FROM erasure_replay_item WHERE id = $1", item_id)
    if replay_id is None:
        return False
    status = await conn.fetchval(
        "SELECT status FROM erasure_replay WHERE id = $1 AND store = $2 FOR UPDATE",
        replay_id, store)
    if status != "pending":
        return True  # another store's answer, or a repeated one after completion
    await conn.execute(
        """UPDATE erasure_replay_item SET status = 'completed', counts = $2::jsonb, erased = $3,
               acknowledged_at = now() WHERE id = $1 AND status = 'pending'""",
        item_id, json.dumps(counts), erased)
    pending = await conn.fetchval(
        "SELECT count(*) FROM erasure_replay_item WHERE replay_id = $1 AND status = 'pending'",
        replay_id)
    if not pending:
        await _complete(conn=conn, replay_id=replay_id, signing_key=signing_key, source=source)
    return True


async def _complete(
    *, conn: asyncpg.Connection, replay_id: uuid.UUID, signing_key: Ed25519PrivateKey,
    source: str,
) -> None:
    replay = await conn.fetchrow("SELECT * FROM erasure_replay WHERE id = $1", replay_id)
    items = await _items(conn, replay_id)
    completed_at = datetime.now(UTC)
    body = {
        "certificate": "erasure-replay",
        "format": 1,
        "replay_id": str(replay_id),
        "store": replay["store"],
        "since": replay["since"].isoformat(),
        "requested_at": replay["created_at"].isoformat(),
        "completed_at": completed_at.isoformat(),
        "erasures": [
            {"job_id": str(i.job_id), "scope": i.kind, "subject_hash": i.subject_hash,
             "tenant_id": i.tenant_id, "category": i.category, "status": i.status,
             "erased": i.erased, "counts": i.counts or {}}
            for i in items
        ],
        "issued_by": source,
    }
    await conn.execute(
        """UPDATE erasure_replay SET status = 'completed', completed_at = $2,
               certificate = $3::jsonb WHERE id = $1""",
        replay_id, completed_at, json.dumps(certificate.sign(signing_key, body)))
    # The requests named the subjects; all answered, so they were sent: forget them here too.
    await conn.execute("DELETE FROM outbox WHERE envelope->>'correlation_id' = $1",
                       str(replay_id))


async def _items(conn: asyncpg.Connection, replay_id: uuid.UUID) -> list[ReplayItem]:
    rows = await conn.fetch(
        "SELECT * FROM erasure_replay_item WHERE replay_id = $1 ORDER BY acknowledged_at, id",
        replay_id)
    return [ReplayItem(**{**dict(r), "counts": json.loads(r["counts"]) if r["counts"] else None})
            for r in rows]


_SUMMARY = """SELECT r.*,
    (SELECT count(*) FROM erasure_replay_item i WHERE i.replay_id = r.id) AS erasures,
    (SELECT count(*) FROM erasure_replay_item i WHERE i.replay_id = r.id
        AND i.status = 'pending') AS pending,
    (SELECT count(*) FROM erasure_replay_item i WHERE i.replay_id = r.id
        AND i.status = 'skipped') AS skipped,
    (SELECT COALESCE(sum(erased), 0) FROM erasure_replay_item i WHERE i.replay_id = r.id) AS erased
FROM erasure_replay r"""


def _summary(row: asyncpg.Record) -> dict[str, Any]:
    return {k: row[k] for k in ReplaySummary.model_fields}


async def get(*, conn: asyncpg.Connection, replay_id: uuid.UUID) -> ReplayRead | None:
    row = await conn.fetchrow(f"{_SUMMARY} WHERE r.id = $1", replay_id)
    if row is None:
        return None
    return ReplayRead(
        **_summary(row), items=await _items(conn, replay_id),
        certificate=json.loads(row["certificate"]) if row["certificate"] else None)


async def list_page(*, conn: asyncpg.Connection, paging: PageParams) -> Page[ReplaySummary]:
    after, after_id = cursor.time_and_id(paging.cursor)
    rows = await conn.fetch(
        f"""{_SUMMARY} WHERE $1::timestamptz IS NULL OR (r.created_at, r.id) < ($1, $2::uuid)
            ORDER BY r.created_at DESC, r.id DESC LIMIT $3""",
        after, after_id, paging.limit + 1)
    return page_of([ReplaySummary(**_summary(r)) for r in rows], paging,
                   key=lambda r: cursor.key(r.created_at, r.id))
