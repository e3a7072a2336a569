"""The access log (O3): every read of personal data is attributable, in every service.

One table (kit migration 0006, `access_log`) and one dependency. A route that returns personal
data takes a `ReadLog` and records what it returned, inside its transaction:

    @router.get("/v1/subjects/{subject_id}/consents")
    async def consents(subject_id: str, conn: DbConn,
                       log: Annotated[ReadLog, AccessLogged("consent state")]) -> ...:
        rows = ...
        await log.record(conn, subjects=[subject_id], tenant_id=None)

A row holds the actor (`sub`) and their roles, the purpose of the read, what was read, of whom
(subject) and of which client (tenant), the route template and the time. A person reading their
own data is not logged.

Staff (dpo, operator) belong to no client, so every read of personal data they make crosses
tenants: it needs a stated reason, sent as the `X-Access-Reason` header (a ticket, case or
incident number and a few words), recorded with the read. Without it the read is refused with
400 `access_reason_required` before anything is read. Service calls (role `service`) state their
purpose in the route itself and need no reason.

Each store's internal export lists the subject's rows (`"access_log"`), so a person's access
bundle shows who read their data. When a person is erased their rows are removed with them and
where they were the reader (a Beheerder) their id is replaced by `erased`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import Depends, Request

from privacy_kit.auth import Principal, current_principal, same_id
from privacy_kit.db import rows_affected
from privacy_kit.errors import ApiError
from privacy_kit.i18n import tr

REASON_HEADER = "X-Access-Reason"
REASON_MAX = 500
ERASED_ACTOR = "erased"

__all__ = ["ERASED_ACTOR", "REASON_HEADER", "AccessLogged", "ReadLog", "access_reason",
           "forget_subject_reads", "forget_tenant_reads", "log_read", "log_read_rows", "route_of",
           "subject_reads"]


def route_of(request: Request) -> str:
    """The route template, e.g. 'GET /v1/subjects/{subject_id}/consents', never the raw path."""
    route = request.scope.get("route")
    path = getattr(route, "path", None) or request.url.path
    return f"{request.method} {path}"


def reason_required() -> ApiError:
    return ApiError(400, "access_reason_required", tr(
        "Platform staff read personal data only with a stated reason: send the header "
        "'{header}: <why you need it, e.g. a ticket or case number>' (at most {limit} "
        "characters). It is recorded in the access log with your read.",
        header=REASON_HEADER, limit=REASON_MAX))


def access_reason(request: Request, principal: Principal) -> str | None:
    """The reason the caller stated; raises 400 when staff stated none (or an unusable one)."""
    raw = request.headers.get(REASON_HEADER)
    reason = " ".join(raw.split()) if raw else None
    if reason is not None and (len(reason) > REASON_MAX or not reason.isprintable()):
        raise ApiError(400, "invalid_access_reason", tr(
            "The header '{header}' must be printable text of at most {limit} characters.",
            header=REASON_HEADER, limit=REASON_MAX))
    if principal.is_staff and not reason:
        raise reason_required()
    return reason or None


def _text(value: str | uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


async def log_read(
    conn: asyncpg.Connection, *, principal: Principal, route: str, purpose: str,
    subjects: Iterable[str | uuid.UUID] = (), tenant_id: str | uuid.UUID | None = None,
    what: str | None = None, reason: str | None = None,
) -> int:
    """Record one read: a row per subject (not the reader themself), or one row without a
    subject when the read is of a tenant's or the platform's records as a whole (pass no
    subjects and `tenant_id`). Returns the rows written. Staff need a `reason`."""
    if principal.is_staff and not reason:
        raise reason_required()
    named = list(subjects)
    ids: list[str | None] = [*sorted({str(s) for s in named if not same_id(principal.sub, s)})]
    if not named:
        ids = [None]
    elif not ids:
        return 0  # only the reader's own data
    status = await conn.execute(
        """INSERT INTO access_log (subject_id, tenant_id, actor_sub, actor_roles, what, purpose,
                                   reason, route)
           SELECT s, $2, $3, $4, $5, $6, $7, $8 FROM unnest($1::text[]) AS s""",
        ids, _text(tenant_id), principal.sub, sorted(principal.roles), what or purpose,
        purpose, reason, route,
    )
    return rows_affected(status)


async def log_read_rows(
    conn: asyncpg.Connection, *, principal: Principal, route: str, purpose: str,
    reads: Iterable[tuple[str | uuid.UUID, str | uuid.UUID | None]], what: str | None = None,
    reason: str | None = None,
) -> int:
    """Many reads at once, each `(subject_id, tenant_id)`: a lookup across clients (COPY, so
    thousands cost one round trip). Same rules as `log_read`."""
    if principal.is_staff and not reason:
        raise reason_required()
    roles = sorted(principal.roles)
    unique = dict.fromkeys((str(s), _text(t)) for s, t in reads if not same_id(principal.sub, s))
    rows = [(s, t, principal.sub, roles, what or purpose, purpose, reason, route)
            for s, t in unique]
    if rows:
        await conn.copy_records_to_table(
            "access_log", records=rows,
            columns=["subject_id", "tenant_id", "actor_sub", "actor_roles", "what", "purpose",
                     "reason", "route"])
    return len(rows)


@dataclass(frozen=True)
class ReadLog:
    """The read a request is making: who, why, through which route (see the module doc)."""

    principal: Principal
    purpose: str
    route: str
    reason: str | None
    path_subject: str | None = None

    async def record(
        self, conn: asyncpg.Connection, *, subjects: Iterable[str | uuid.UUID] | None = None,
        tenant_id: str | uuid.UUID | None = None, what: str | None = None,
    ) -> int:
        """Log the read of these subjects (default: the route's `{subject_id}`)."""
        if subjects is None:
            subjects = [self.path_subject] if self.path_subject else []
        return await log_read(conn, principal=self.principal, route=self.route,
                              purpose=self.purpose, subjects=subjects, tenant_id=tenant_id,
                              what=what, reason=self.reason)

    async def record_rows(
        self, conn: asyncpg.Connection,
        reads: Iterable[tuple[str | uuid.UUID, str | uuid.UUID | None]], *,
        what: str | None = None,
    ) -> int:
        """Log the read of many subjects, each with their own tenant `(subject_id, tenant_id)`."""
        return await log_read_rows(conn, principal=self.principal, route=self.route,
                                   purpose=self.purpose, reads=reads, what=what,
                                   reason=self.reason)


def AccessLogged(purpose: str) -> Any:
    """Dependency for a route that returns personal data: checks the staff reason up front
    (400 before anything is read) and gives a `ReadLog` to record the read with."""

    async def read_log(request: Request) -> ReadLog:
        principal = current_principal(request)
        reason = access_reason(request, principal)
        subject = request.path_params.get("subject_id")
        return ReadLog(principal=principal, purpose=purpose, route=route_of(request),
                       reason=reason, path_subject=str(subject) if subject else None)

    return Depends(read_log)


async def subject_reads(conn: asyncpg.Connection, subject_id: str) -> list[dict[str, Any]]:
    """Who read this person's data here, oldest first: for their export and access bundle."""
    rows = await conn.fetch(
        """SELECT actor_sub AS actor, actor_roles, purpose, what, reason, route, read_at
           FROM access_log WHERE subject_id = $1 ORDER BY id""", str(subject_id))
    return [dict(r) for r in rows]


async def forget_subject_reads(conn: asyncpg.Connection, subject_id: str) -> int:
    """Erasure: the reads of the person go with them; where they read others' data (as a
    Beheerder) the read stays, attributed to `erased` instead of them."""
    removed = rows_affected(await conn.execute(
        "DELETE FROM access_log WHERE subject_id = $1", str(subject_id)))
    await conn.execute("UPDATE access_log SET actor_sub = $2 WHERE actor_sub = $1",
                       str(subject_id), ERASED_ACTOR)
    return removed


async def forget_tenant_reads(
    conn: asyncpg.Connection, tenant_id: str, *, keep_subjects: Iterable[str] = ()
) -> int:
    """Erasure of a client: the reads of its people, except those under a legal hold."""
    return rows_affected(await conn.execute(
        """DELETE FROM access_log WHERE tenant_id = $1
             AND (subject_id IS NULL OR subject_id <> ALL($2::text[]))""",
        str(tenant_id), [str(s) for s in keep_subjects]))
