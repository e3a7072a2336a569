"""The case record and its rules: states, history, inbox, identity codes. The caller owns the
transaction; events are emitted here, in it."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from privacy_kit.errors import ApiError
from privacy_kit.outbox import emit
from privacy_kit.paging import Page, PageParams, page_of
from privacy_kit.protocol import SubjectRequestReceived, SubjectRequestStatusChanged
from privacy_kit.sorting import Ordering, SortOrder
from subject_rights import deadlines
from subject_rights.cases.models import (
    CLOSED,
    BundleInfo,
    Case,
    CaseSummary,
    Decision,
    Extension,
    HistoryEntry,
    Refusal,
)
from subject_rights.cases.models import REFUSAL_GROUNDS as GROUNDS
from subject_rights.i18n import tr
from subject_rights.settings import Settings

SOURCE = "subject-rights"


def subject_hash(secret: str, subject_id: str) -> str:
    """The keyed hash a case keeps of its subject once the person is erased."""
    return hmac.new(secret.encode(), subject_id.encode(), hashlib.sha256).hexdigest()


def not_found() -> ApiError:
    return ApiError(404, "not_found", tr("There is no request with this id."))


async def get_row(
    conn: asyncpg.Connection, case_id: uuid.UUID, *, for_update: bool = False
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"SELECT * FROM subject_request WHERE id = $1{' FOR UPDATE' if for_update else ''}",
        case_id)
    if row is None:
        raise not_found()
    return row


async def _append(
    conn: asyncpg.Connection, *, case_id: uuid.UUID, action: str, from_status: str | None,
    to_status: str, actor: str, actor_role: str, note: str | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO subject_request_event (request_id, action, from_status, to_status, actor,
               actor_role, note) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        case_id, action, from_status, to_status, actor, actor_role, note or None,
    )


async def _status_changed(
    conn: asyncpg.Connection, row: asyncpg.Record | dict[str, Any], status: str,
    previous: str | None,
) -> None:
    await emit(
        conn,
        SubjectRequestStatusChanged(request_id=row["id"], kind=row["kind"], status=status,
                                    previous_status=previous),
        source=SOURCE, subject_id=row["subject_id"], tenant_id=row["tenant_id"],
        correlation_id=str(row["id"]), key=str(row["id"]),
    )


async def create(
    conn: asyncpg.Connection, *, settings: Settings, kind: str, details: str, subject_id: str,
    tenant_id: str | None, submitted_by: str, actor_role: str, channel: str, on_behalf: bool,
    received_at: datetime, rectification: dict[str, Any] | None, verified_by_sign_in: bool,
) -> asyncpg.Record:
    """A new case; verified at once only when the person filed it signed in as themself (O20)."""
    now = datetime.now(UTC)
    due = deadlines.due_at(received_at, days=settings.answer_within_days)
    status = "verified" if verified_by_sign_in else "awaiting_verification"
    row = await conn.fetchrow(
        """INSERT INTO subject_request (id, subject_id, subject_hash, tenant_id, kind, details,
               status, submitted_by, received_at, due_at, first_due_at, channel, on_behalf,
               entered_at, rectification, verified_at, verification_method)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14::jsonb, $15,
                   $16)
           RETURNING *""",
        uuid.uuid4(), subject_id, subject_hash(settings.case_secret, subject_id), tenant_id,
        kind, details, status, submitted_by, received_at, due, channel, on_behalf, now,
        json.dumps(rectification) if rectification is not None else None,
        now if verified_by_sign_in else None, "signed_in" if verified_by_sign_in else None,
    )
    assert row is not None
    note = f"entered on the person's behalf; received by {channel}" if on_behalf else None
    await _append(conn, case_id=row["id"], action="received", from_status=None,
                  to_status="received", actor=submitted_by, actor_role=actor_role, note=note)
    await _append(conn, case_id=row["id"],
                  action="verified" if verified_by_sign_in else "verification_required",
                  from_status="received", to_status=status, actor=submitted_by,
                  actor_role=actor_role,
                  note="filed while signed in as the person" if verified_by_sign_in else None)
    await emit(conn, SubjectRequestReceived(request_id=row["id"], kind=kind), source=SOURCE,
               tenant_id=tenant_id, subject_id=subject_id, correlation_id=str(row["id"]))
    await _status_changed(conn, row, status, "received")
    return row


async def transition(
    conn: asyncpg.Connection, row: asyncpg.Record, *, action: str, to_status: str, actor: str,
    actor_role: str, note: str | None = None, **columns: Any,
) -> asyncpg.Record:
    """Move the case (columns updated too) and append the transition to its history."""
    sets = ["status = $2", "updated_at = now()"]
    values: list[Any] = [row["id"], to_status]
    for name, value in columns.items():
        values.append(json.dumps(value) if name in ("outcome", "rectification") else value)
        cast = "::jsonb" if name in ("outcome", "rectification") else ""
        sets.append(f"{name} = ${len(values)}{cast}")
    if to_status in CLOSED and "closed_at" not in columns:
        sets.append("closed_at = now()")
    updated = await conn.fetchrow(
        f"UPDATE subject_request SET {', '.join(sets)} WHERE id = $1 RETURNING *", *values)
    assert updated is not None
    await _append(conn, case_id=row["id"], action=action, from_status=row["status"],
                  to_status=to_status, actor=actor, actor_role=actor_role, note=note)
    if to_status != row["status"]:
        await _status_changed(conn, updated, to_status, row["status"])
    return updated


async def merge_outcome(
    conn: asyncpg.Connection, case_id: uuid.UUID, part: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE subject_request SET outcome = outcome || $2::jsonb, updated_at = now() "
        "WHERE id = $1", case_id, json.dumps(part, default=str))


async def history(conn: asyncpg.Connection, case_id: uuid.UUID) -> list[HistoryEntry]:
    rows = await conn.fetch(
        """SELECT action, from_status, to_status, actor, actor_role, note, at
           FROM subject_request_event WHERE request_id = $1 ORDER BY id""", case_id)
    return [HistoryEntry(**dict(r)) for r in rows]


# --- reading ---------------------------------------------------------------------------------


def summary_fields(row: asyncpg.Record, settings: Settings, now: datetime) -> dict[str, Any]:
    open_case = row["status"] not in CLOSED
    due = row["due_at"]
    return {
        "id": row["id"], "kind": row["kind"], "status": row["status"],
        "subject_id": row["subject_id"], "tenant_id": row["tenant_id"],
        "controller": "tenant" if row["tenant_id"] else "platform",
        "channel": row["channel"], "on_behalf": row["on_behalf"],
        "received_at": row["received_at"], "due_at": due,
        "due_date": deadlines.last_day(due),
        "verified": row["verified_at"] is not None,
        "extended": row["extended_at"] is not None,
        "due_soon": open_case and now < due <= now + timedelta(days=settings.due_soon_days),
        "overdue": open_case and due <= now,
    }


def to_summary(row: asyncpg.Record, settings: Settings, now: datetime) -> CaseSummary:
    return CaseSummary(**summary_fields(row, settings, now))


async def read(
    conn: asyncpg.Connection, row: asyncpg.Record, settings: Settings
) -> Case:
    now = datetime.now(UTC)
    bundle = await conn.fetchrow(
        """SELECT id, created_at, expires_at, complete, stores, size_bytes FROM access_bundle
           WHERE request_id = $1 AND expires_at > now() ORDER BY created_at DESC LIMIT 1""",
        row["id"])
    decision = None
    if row["decided_at"] is not None:
        decision = Decision(decided_at=row["decided_at"], decided_by=row["decided_by"],
                            instruction_reference=row["instruction_reference"])
    extension = None
    if row["extended_at"] is not None:
        extension = Extension(extended_at=row["extended_at"], months=row["extension_months"],
                              reason=row["extension_reason"], first_due_at=row["first_due_at"])
    refusal = None
    if row["refusal_ground"] is not None:
        refusal = Refusal(ground=row["refusal_ground"],
                          ground_text=GROUNDS.get(row["refusal_ground"], row["refusal_ground"]),
                          explanation=row["refusal_explanation"])
    return Case(
        **summary_fields(row, settings, now),
        details=row["details"], submitted_by=row["submitted_by"],
        entered_at=row["entered_at"], verification_method=row["verification_method"],
        verified_at=row["verified_at"],
        rectification=json.loads(row["rectification"]) if row["rectification"] else None,
        decision=decision, extension=extension, refusal=refusal, closed_at=row["closed_at"],
        erasure_job_id=row["erasure_job_id"], outcome=json.loads(row["outcome"] or "{}"),
        bundle=BundleInfo(
            id=bundle["id"], created_at=bundle["created_at"], expires_at=bundle["expires_at"],
            complete=bundle["complete"], stores=json.loads(bundle["stores"]),
            size_bytes=bundle["size_bytes"],
            download=f"/v1/subject-requests/{row['id']}/bundle",
        ) if bundle else None,
        history=await history(conn, row["id"]),
    )


# The inbox: most urgent first by default; or by receipt.
INBOX_ORDERING = Ordering(
    {"due_at": ("due_at", "timestamptz"), "received_at": ("received_at", "timestamptz")},
    tiebreak=("id", "uuid"), default="due_at")


async def list_cases(
    conn: asyncpg.Connection, *, settings: Settings, paging: PageParams,
    sort: SortOrder = INBOX_ORDERING.default_order,
    tenant_id: str | None = None, platform: bool = False, subject_id: str | None = None,
    status: str | None = None, kind: str | None = None, due: str | None = None,
    due_before: datetime | None = None,
) -> Page[CaseSummary]:
    """An inbox (a tenant's, or the platform's) or the person's own cases, most urgent first."""
    now = datetime.now(UTC)
    where = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if subject_id is not None:
        where.append(f"subject_id = {arg(subject_id)}")
    elif platform:
        where.append("tenant_id IS NULL")
    else:
        where.append(f"tenant_id = {arg(tenant_id)}")
    if status:
        where.append(f"status = {arg(status)}")
    if kind:
        where.append(f"kind = {arg(kind)}")
    if due in ("soon", "overdue"):
        where.append(f"status <> ALL({arg(list(CLOSED))}::text[])")
        if due == "soon":
            where.append(f"due_at > {arg(now)} AND due_at <= "
                         f"{arg(now + timedelta(days=settings.due_soon_days))}")
        else:
            where.append(f"due_at <= {arg(now)}")
    if due_before is not None:
        where.append(f"due_at < {arg(due_before)}")
    keyset, order_by, keyset_args = sort.keyset(paging, first_param=len(args) + 1)
    args.extend(keyset_args)
    where.append(keyset)
    rows = await conn.fetch(
        f"SELECT * FROM subject_request WHERE {' AND '.join(where)} "
        f"ORDER BY {order_by} LIMIT {arg(paging.limit + 1)}", *args)
    items = [to_summary(r, settings, now) for r in rows]
    return page_of(items, paging, key=sort.cursor_key)


# --- identity codes (O20) --------------------------------------------------------------------


def _code_hash(settings: Settings, case_id: uuid.UUID, code: str) -> str:
    return hmac.new(settings.case_secret.encode(), f"{case_id}:{code}".encode(),
                    hashlib.sha256).hexdigest()


async def issue_code(
    conn: asyncpg.Connection, *, settings: Settings, case_id: uuid.UUID
) -> tuple[str, datetime]:
    """A fresh six-digit code (the previous one dies); a case gets a limited number of codes."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires = datetime.now(UTC) + timedelta(seconds=settings.identity_code_ttl_s)
    sent = await conn.fetchval(
        """INSERT INTO identity_code (request_id, code_hash, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (request_id) DO UPDATE SET code_hash = $2, expires_at = $3, tries = 0,
               sent_at = now(), used_at = NULL, codes_sent = identity_code.codes_sent + 1
           RETURNING codes_sent""",
        case_id, _code_hash(settings, case_id, code), expires)
    if sent > settings.identity_codes_per_case:
        raise ApiError(429, "too_many_codes",
                       tr("This request has had {count} codes already; the controller can "
                          "verify the person another way.",
                          count=settings.identity_codes_per_case))
    return code, expires


async def check_code(
    conn: asyncpg.Connection, *, settings: Settings, case_id: uuid.UUID, code: str
) -> ApiError | None:
    """Accept the live code once; every wrong try counts (the caller commits it before raising
    the error returned), and after the last one the code is dead."""
    row = await conn.fetchrow("SELECT * FROM identity_code WHERE request_id = $1 FOR UPDATE",
                              case_id)
    if row is None or row["used_at"] is not None:
        return ApiError(409, "no_code", tr("There is no open identity code for this request; "
                                           "ask for a new one."))
    if row["expires_at"] <= datetime.now(UTC):
        return ApiError(410, "code_expired", tr("The code has expired; ask for a new one."))
    if row["tries"] >= settings.identity_code_max_tries:
        return ApiError(429, "too_many_tries", tr("Too many wrong codes; ask for a new one."))
    if not hmac.compare_digest(row["code_hash"], _code_hash(settings, case_id, code.strip())):
        tries = await conn.fetchval(
            "UPDATE identity_code SET tries = tries + 1 WHERE request_id = $1 RETURNING tries",
            case_id)
        left = settings.identity_code_max_tries - tries
        return ApiError(422, "wrong_code", tr("The code is not right; {left} tries left.",
                                              left=left)
                        if left else tr("The code is not right, and that was the last try; "
                                        "ask for a new one."))
    await conn.execute("UPDATE identity_code SET used_at = now() WHERE request_id = $1", case_id)
    return None
