"""The register (O26) and the per-tenant clocks (O27): business rules, events emitted here only.

Every function takes the caller's connection (the caller owns the transaction) and `now`, so
the clocks can be tested at exact minutes without sleeping.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from pydantic import ValidationError

from breach import timeline
from breach.clock import minutes_left
from breach.i18n import tr
from breach.lookup import Located
from breach.register.models import (
    Assessment,
    AssessmentCreate,
    AuthorityClock,
    BreachCreate,
    BreachRead,
    BreachSummary,
    Deadline,
    Facts,
    FactsUpdate,
    NoticeCounts,
    Reporter,
    Risk,
    State,
    SubjectsAdded,
    Transition,
)
from breach.settings import Settings
from breach.timeline import Actor, from_jsonb
from privacy_kit.errors import ApiError
from privacy_kit.i18n import Joined
from privacy_kit.outbox import emit, emit_many
from privacy_kit.paging import PageParams
from privacy_kit.protocol import (
    BreachAssessed,
    BreachRegistered,
    BreachStateChanged,
    BreachSubjectsAdded,
    BreachTenantNoticeOpened,
    BreachTenantNoticeUpdated,
    BreachUpdated,
    Payload,
)
from privacy_kit.sorting import Ordering, SortOrder

TRANSITIONS: dict[State, set[State]] = {
    State.reported: {State.investigating, State.contained, State.notified, State.closed},
    State.investigating: {State.contained, State.notified, State.closed},
    State.contained: {State.investigating, State.notified, State.closed},
    State.notified: {State.investigating, State.contained, State.closed},
    State.closed: {State.investigating},
}


def not_found() -> ApiError:
    return ApiError(404, "not_found", tr("There is no breach with this id."))


def _facts_json(facts: Facts) -> str:
    return facts.model_dump_json()


async def lock(conn: asyncpg.Connection, breach_id: uuid.UUID) -> asyncpg.Record:
    """The breach row, locked: changes to one breach are applied one at a time."""
    row = await conn.fetchrow("SELECT * FROM breach WHERE id = $1 FOR UPDATE", breach_id)
    if row is None:
        raise not_found()
    return row


# --- Registering and adding subjects ------------------------------------------------------


async def register(
    *, conn: asyncpg.Connection, body: BreachCreate, located: Located | None, actor: Actor,
    now: datetime, settings: Settings,
) -> uuid.UUID:
    """The initial report: the facts, the reporter, the affected people and a notice per tenant."""
    breach_id = uuid.uuid4()
    facts = Facts.model_validate(body.model_dump(include=set(Facts.model_fields)))
    if facts.aware_at is None:
        facts = facts.model_copy(update={"aware_at": facts.discovered_at})
    assert facts.aware_at is not None
    authority_due = facts.aware_at + timedelta(hours=settings.authority_notification_hours)
    await conn.execute(
        """INSERT INTO breach (id, title, facts, discovered_at, aware_at, registered_by,
               registered_at, updated_at, authority_due_at, platform_role, authority_required)
           VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $7, $8, $9, $10)""",
        breach_id, facts.title, _facts_json(facts), facts.discovered_at, facts.aware_at,
        actor.sub, now, authority_due, facts.platform_role, facts.platform_role != "processor",
    )
    if body.reporter is not None:
        await _save_reporter(conn, breach_id, body.reporter)
    await timeline.append(
        conn, breach_id=breach_id, kind="reported", actor=actor, at=now,
        data={"facts": facts.model_dump(mode="json"), "reporter_recorded": body.reporter is not None},
    )
    added = await record_subjects(
        conn=conn, breach_id=breach_id, discovered_at=facts.discovered_at,
        subject_ids=body.affected_subject_ids, tenant_ids=body.affected_tenant_ids,
        located=located, now=now, initial=True, actor=actor, settings=settings,
    )
    row = await conn.fetchrow(
        "SELECT affected_subjects, unknown_subjects FROM breach WHERE id = $1", breach_id)
    await emit(
        conn,
        BreachRegistered(breach_id=breach_id, affected_subjects=row["affected_subjects"],
                         tenants=added.tenants_opened, unknown_subjects=row["unknown_subjects"]),
        source=settings.service_name, key=str(breach_id),
    )
    return breach_id


async def _save_reporter(conn: asyncpg.Connection, breach_id: uuid.UUID, reporter: Reporter) -> None:
    await conn.execute(
        """INSERT INTO breach_reporter (breach_id, subject_id, tenant_id, name, email, phone,
               organisation, role) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        breach_id, reporter.subject_id, reporter.tenant_id, reporter.name, reporter.email,
        reporter.phone, reporter.organisation, reporter.role,
    )


@dataclass
class _TenantChange:
    added: int = 0
    named: bool = False
    participants: int | None = None


async def record_subjects(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, discovered_at: datetime,
    subject_ids: list[str], tenant_ids: list[str], located: Located | None, now: datetime,
    initial: bool, actor: Actor, settings: Settings,
) -> SubjectsAdded:
    """Record affected subjects (set-based) and open or update each tenant's notice.

    `located` is training-records' answer, or None when it could not be asked: the subjects
    are then kept as pending and the sweep asks again.
    """
    # Sorted, so the primary key and the subject index are filled in order.
    ids = sorted(set(subject_ids))
    if located is None:
        tenants: list[str | None] = [None] * len(ids)
        lookups = ["pending"] * len(ids)
    else:
        tenants = [located.tenant_of.get(s) for s in ids]
        lookups = ["found" if s in located.tenant_of else "unknown" for s in ids]
    if initial:  # a new breach: nothing to collide with, so COPY and count here
        await conn.copy_records_to_table(
            "breach_affected_subject",
            columns=["breach_id", "subject_id", "tenant_id", "lookup", "added_at"],
            records=[(breach_id, s, t, lk, now) for s, t, lk in zip(ids, tenants, lookups, strict=True)],
        )
        groups = Counter(zip(tenants, lookups, strict=True))
    else:
        rows = await conn.fetch(
            """WITH added AS (
                   INSERT INTO breach_affected_subject (breach_id, subject_id, tenant_id, lookup, added_at)
                   SELECT $1, s, t, l, $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS x(s, t, l)
                   ON CONFLICT DO NOTHING RETURNING tenant_id, lookup)
               SELECT tenant_id, lookup, count(*)::int AS n FROM added GROUP BY tenant_id, lookup""",
            breach_id, ids, tenants, lookups, now,
        ) if ids else []
        groups = Counter({(r["tenant_id"], r["lookup"]): r["n"] for r in rows})
    counts = {"found": 0, "unknown": 0, "pending": 0}
    changes: dict[str, _TenantChange] = {}
    for (tenant, lookup), n in groups.items():
        counts[lookup] += n
        if lookup == "found" and tenant is not None:
            changes.setdefault(tenant, _TenantChange()).added += n
    for tenant in dict.fromkeys(tenant_ids):
        change = changes.setdefault(tenant, _TenantChange())
        change.named = True
        change.participants = located.participants_of.get(tenant) if located else None
    opened, updated = await _open_or_update_notices(
        conn, breach_id=breach_id, discovered_at=discovered_at, changes=changes,
        known_at=None if initial else now, now=now, actor=actor, settings=settings,
    )
    await conn.execute(
        """UPDATE breach SET affected_subjects = affected_subjects + $2,
               unknown_subjects = unknown_subjects + $3, pending_subjects = pending_subjects + $4
           WHERE id = $1""",
        breach_id, counts["found"], counts["unknown"], counts["pending"],
    )
    result = SubjectsAdded(added=sum(counts.values()), unknown=counts["unknown"],
                           pending=counts["pending"], tenants_opened=opened, tenants_updated=updated)
    if result.added or opened or updated:
        await _after_addition(conn, breach_id=breach_id, result=result, actor=actor, now=now,
                              settings=settings, kind="subjects_added", announce=not initial)
    return result


async def _after_addition(
    conn: asyncpg.Connection, *, breach_id: uuid.UUID, result: SubjectsAdded, actor: Actor,
    now: datetime, settings: Settings, kind: str, announce: bool = True,
) -> None:
    await conn.execute("UPDATE breach SET updated_at = $2 WHERE id = $1", breach_id, now)
    await timeline.append(conn, breach_id=breach_id, kind=kind, actor=actor, at=now,
                          data=result.model_dump())
    if not announce:  # the initial report says it all in breach.registered
        return
    await emit(
        conn,
        BreachSubjectsAdded(breach_id=breach_id, added=result.added, unknown=result.unknown,
                            pending=result.pending,
                            tenants=result.tenants_opened + result.tenants_updated),
        source=settings.service_name, key=str(breach_id),
    )


async def _open_or_update_notices(
    conn: asyncpg.Connection, *, breach_id: uuid.UUID, discovered_at: datetime,
    changes: dict[str, _TenantChange], known_at: datetime | None, now: datetime, actor: Actor,
    settings: Settings,
) -> tuple[int, int]:
    """One notice per tenant (O27): opened with its 24 h clock, or its count raised."""
    if not changes:
        return 0, 0
    due = max(discovered_at, known_at or discovered_at) + timedelta(
        hours=settings.tenant_notification_hours)
    tenant_ids = list(changes)
    rows = await conn.fetch(
        """INSERT INTO breach_tenant_notification AS n
               (id, breach_id, tenant_id, affected_count, all_participants_may_be_affected,
                participants_in_tenant, due_at, affected_known_at, opened_at, updated_at)
           SELECT gen_random_uuid(), $1, t, c, named, p, $6, $7, $8, $8
           FROM unnest($2::text[], $3::int[], $4::bool[], $5::int[]) AS x(t, c, named, p)
           ON CONFLICT (breach_id, tenant_id) DO UPDATE SET
               affected_count = n.affected_count + EXCLUDED.affected_count,
               all_participants_may_be_affected =
                   n.all_participants_may_be_affected OR EXCLUDED.all_participants_may_be_affected,
               participants_in_tenant = coalesce(EXCLUDED.participants_in_tenant,
                                                 n.participants_in_tenant),
               updated_at = EXCLUDED.updated_at
           RETURNING id, tenant_id, affected_count, all_participants_may_be_affected, due_at,
                     (xmax = 0) AS opened""",
        breach_id, tenant_ids, [changes[t].added for t in tenant_ids],
        [changes[t].named for t in tenant_ids], [changes[t].participants for t in tenant_ids],
        due, known_at, now,
    )
    opened_entries = []
    events: list[Payload] = []
    event_tenants: list[str | None] = []
    for row in rows:
        change = changes[row["tenant_id"]]
        if row["opened"]:
            opened_entries.append({
                "notice_id": str(row["id"]), "tenant_id": row["tenant_id"],
                "affected_subjects": row["affected_count"],
                "all_participants_may_be_affected": row["all_participants_may_be_affected"],
                "due_at": row["due_at"].isoformat()})
            events.append(BreachTenantNoticeOpened(
                breach_id=breach_id, notice_id=row["id"], affected_subjects=row["affected_count"],
                all_participants_may_be_affected=row["all_participants_may_be_affected"],
                due_at=row["due_at"]))
        elif change.added:
            events.append(BreachTenantNoticeUpdated(
                breach_id=breach_id, notice_id=row["id"], affected_subjects=row["affected_count"],
                added=change.added))
        else:
            continue
        event_tenants.append(row["tenant_id"])
    await emit_many(conn, events, source=settings.service_name, tenant_ids=event_tenants)
    await timeline.append_many(conn, breach_id=breach_id, kind="tenant_notice_opened", actor=actor,
                               at=now, data=opened_entries)
    opened = len(opened_entries)
    return opened, len(rows) - opened


async def add_subjects(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, subject_ids: list[str],
    tenant_ids: list[str], located: Located | None, actor: Actor, now: datetime, settings: Settings,
) -> SubjectsAdded:
    row = await lock(conn, breach_id)
    return await record_subjects(
        conn=conn, breach_id=breach_id, discovered_at=row["discovered_at"], subject_ids=subject_ids,
        tenant_ids=tenant_ids, located=located, now=now, initial=False, actor=actor,
        settings=settings,
    )


async def pending_subjects(conn: asyncpg.Connection, limit: int) -> dict[uuid.UUID, list[str]]:
    rows = await conn.fetch(
        """SELECT breach_id, subject_id FROM breach_affected_subject WHERE lookup = 'pending'
           ORDER BY breach_id LIMIT $1""",
        limit,
    )
    found: dict[uuid.UUID, list[str]] = {}
    for row in rows:
        found.setdefault(row["breach_id"], []).append(row["subject_id"])
    return found


async def resolve_pending(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, located: Located, now: datetime,
    settings: Settings,
) -> SubjectsAdded:
    """Subjects kept as pending (training-records was unreachable) get their tenants now."""
    row = await lock(conn, breach_id)
    ids = list(located.tenant_of) + located.unknown_subjects
    groups = await conn.fetch(
        """WITH resolved AS (
               UPDATE breach_affected_subject a SET tenant_id = x.t, lookup = x.l
               FROM unnest($2::text[], $3::text[], $4::text[]) AS x(s, t, l)
               WHERE a.breach_id = $1 AND a.subject_id = x.s AND a.lookup = 'pending'
               RETURNING a.tenant_id, a.lookup)
           SELECT tenant_id, lookup, count(*)::int AS n FROM resolved GROUP BY tenant_id, lookup""",
        breach_id, ids, [located.tenant_of.get(s) for s in ids],
        ["found" if s in located.tenant_of else "unknown" for s in ids],
    )
    counts = {"found": 0, "unknown": 0}
    changes: dict[str, _TenantChange] = {}
    for group in groups:
        counts[group["lookup"]] += group["n"]
        if group["lookup"] == "found" and group["tenant_id"] is not None:
            changes.setdefault(group["tenant_id"], _TenantChange()).added += group["n"]
    actor = Actor(settings.service_name, ["service"])
    opened, updated = await _open_or_update_notices(
        conn, breach_id=breach_id, discovered_at=row["discovered_at"], changes=changes,
        known_at=now, now=now, actor=actor, settings=settings,
    )
    resolved = counts["found"] + counts["unknown"]
    await conn.execute(
        """UPDATE breach SET affected_subjects = affected_subjects + $2,
               unknown_subjects = unknown_subjects + $3, pending_subjects = pending_subjects - $4
           WHERE id = $1""",
        breach_id, counts["found"], counts["unknown"], resolved,
    )
    result = SubjectsAdded(added=resolved, unknown=counts["unknown"], pending=0,
                           tenants_opened=opened, tenants_updated=updated)
    if resolved:
        await _after_addition(conn, breach_id=breach_id, result=result, actor=actor, now=now,
                              settings=settings, kind="subjects_resolved")
    return result


# --- Follow-ups, assessments, states, notes -----------------------------------------------


async def follow_up(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, body: FactsUpdate, actor: Actor,
    now: datetime, settings: Settings,
) -> None:
    """A follow-up report (phased reporting, Art. 33(4)): changed facts appended, view rebuilt."""
    row = await lock(conn, breach_id)
    changes = body.changes()
    if not changes and not body.note:
        raise ApiError(422, "nothing_to_change", tr("A follow-up needs at least one fact or a note."))
    current = Facts.model_validate(from_jsonb(row["facts"]))
    try:
        facts = Facts.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        message = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise ApiError(422, "invalid_request", message) from exc
    assert facts.aware_at is not None
    changed = [k for k in changes if getattr(current, k) != getattr(facts, k)]
    phase = await conn.fetchval(
        "SELECT count(*) FROM breach_timeline WHERE breach_id = $1 AND kind = 'follow_up'", breach_id)
    await timeline.append(
        conn, breach_id=breach_id, kind="follow_up", actor=actor, at=now,
        data={"phase": phase + 1, "changes": {k: facts.model_dump(mode="json")[k] for k in changed},
              "note": body.note},
    )
    await conn.execute(
        """UPDATE breach SET facts = $2::jsonb, title = $3, discovered_at = $4, aware_at = $5,
               authority_due_at = $6, platform_role = $7,
               authority_required = ($7 <> 'processor' AND risk IS DISTINCT FROM 'no_risk'),
               updated_at = $8
           WHERE id = $1""",
        breach_id, _facts_json(facts), facts.title, facts.discovered_at, facts.aware_at,
        facts.aware_at + timedelta(hours=settings.authority_notification_hours),
        facts.platform_role, now,
    )
    if "discovered_at" in changed:
        await conn.execute(
            """UPDATE breach_tenant_notification SET
                   due_at = greatest($2::timestamptz, coalesce(affected_known_at, $2)) + $3::interval
               WHERE breach_id = $1""",
            breach_id, facts.discovered_at, timedelta(hours=settings.tenant_notification_hours),
        )
    if changed:
        await emit(conn, BreachUpdated(breach_id=breach_id, fields=changed),
                   source=settings.service_name, key=str(breach_id))


async def assess(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, body: AssessmentCreate, actor: Actor,
    now: datetime, settings: Settings,
) -> None:
    """Record a risk assessment; the latest one decides what is required (Art. 33-34)."""
    row = await lock(conn, breach_id)
    authority = row["platform_role"] != "processor" and body.risk != Risk.no_risk
    people = body.risk == Risk.high_risk and body.art34_exception is None
    assessment = Assessment(**body.model_dump(), assessed_at=now, assessed_by=actor.sub)
    await timeline.append(
        conn, breach_id=breach_id, kind="assessed", actor=actor, at=now,
        data={**body.model_dump(mode="json"), "authority_report_required": authority,
              "people_notice_required": people},
    )
    await conn.execute(
        """UPDATE breach SET risk = $2, assessment = $3::jsonb, authority_required = $4,
               people_notice_required = $5, updated_at = $6 WHERE id = $1""",
        breach_id, body.risk.value, assessment.model_dump_json(), authority, people, now,
    )
    await emit(
        conn,
        BreachAssessed(breach_id=breach_id, risk=body.risk.value,
                       art34_exception=body.art34_exception.value if body.art34_exception else None,
                       authority_report_required=authority, people_notice_required=people),
        source=settings.service_name, key=str(breach_id),
    )


async def transition(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, body: Transition, actor: Actor,
    now: datetime, settings: Settings,
) -> None:
    row = await lock(conn, breach_id)
    current = State(row["state"])
    if body.to not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
        raise ApiError(409, "invalid_transition",
                       tr("A breach in state {state} can go to: {allowed}.",
                          state=current.value, allowed=allowed))
    missing = await _missing_for(conn, row, body.to)
    if missing:
        raise ApiError(409, "not_ready", tr("Cannot be {state} yet: {missing}.",
                                            state=body.to.value, missing=Joined(missing, "; ")))
    await timeline.append(conn, breach_id=breach_id, kind="state_changed", actor=actor, at=now,
                          data={"from": current.value, "to": body.to.value, "note": body.note})
    await conn.execute("UPDATE breach SET state = $2, updated_at = $3 WHERE id = $1",
                       breach_id, body.to.value, now)
    await emit(conn, BreachStateChanged(breach_id=breach_id, from_state=current.value,
                                        to_state=body.to.value),
               source=settings.service_name, key=str(breach_id))


async def _missing_for(conn: asyncpg.Connection, row: asyncpg.Record, to: State) -> list[str]:
    missing: list[str] = []
    if to in (State.notified, State.closed) and row["risk"] is None:
        missing.append(tr("the risk is not assessed"))
    if to == State.notified:
        open_notices = await conn.fetchval(
            """SELECT count(*) FROM breach_tenant_notification
               WHERE breach_id = $1 AND notified_at IS NULL""", row["id"])
        if open_notices:
            missing.append(tr("{count} tenant notice(s) not yet delivered", count=open_notices))
        if row["authority_required"] and row["authority_reported_at"] is None:
            missing.append(tr("the Autoriteit Persoonsgegevens is not yet notified"))
        if row["people_notice_required"] and row["people_notified"] == 0:
            missing.append(tr("the affected people are not yet told (or an Art. 34(3) exception "
                              "recorded)"))
    return missing


async def add_note(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, text: str, actor: Actor, now: datetime,
) -> int:
    await lock(conn, breach_id)
    await conn.execute("UPDATE breach SET updated_at = $2 WHERE id = $1", breach_id, now)
    return await timeline.append(conn, breach_id=breach_id, kind="note", actor=actor, at=now,
                                 data={"text": text})


# --- Reading -----------------------------------------------------------------------------


def authority_status(row: asyncpg.Record | dict[str, Any], now: datetime, due_soon: timedelta) -> str:
    if not row["authority_required"]:
        return "not_required"
    reported = row["authority_reported_at"]
    if reported is not None:
        return "reported" if reported <= row["authority_due_at"] else "reported_late"
    if now > row["authority_due_at"]:
        return "overdue"
    if now >= row["authority_due_at"] - due_soon:
        return "due_soon"
    return "open"


async def get(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, now: datetime, settings: Settings,
) -> BreachRead | None:
    row = await conn.fetchrow("SELECT * FROM breach WHERE id = $1", breach_id)
    if row is None:
        return None
    reporter = await conn.fetchrow("SELECT * FROM breach_reporter WHERE breach_id = $1", breach_id)
    due_soon = timedelta(hours=settings.due_soon_hours)
    notices = await conn.fetchrow(
        """SELECT count(*) AS total, count(notified_at) AS notified,
                  count(*) FILTER (WHERE notified_at IS NULL AND due_at < $2) AS overdue,
                  count(*) FILTER (WHERE notified_at IS NULL AND due_at >= $2
                                   AND due_at - $3::interval <= $2) AS due_soon
           FROM breach_tenant_notification WHERE breach_id = $1""",
        breach_id, now, due_soon,
    )
    assessment = from_jsonb(row["assessment"])
    return BreachRead(
        id=row["id"], state=row["state"], facts=Facts.model_validate(from_jsonb(row["facts"])),
        reporter=Reporter.model_validate({k: reporter[k] for k in Reporter.model_fields})
        if reporter else None,
        registered_at=row["registered_at"], registered_by=row["registered_by"],
        updated_at=row["updated_at"],
        assessment=Assessment.model_validate(assessment) if assessment else None,
        authority=AuthorityClock(required=row["authority_required"], due_at=row["authority_due_at"],
                                 reported_at=row["authority_reported_at"],
                                 status=authority_status(row, now, due_soon)),
        people_notice_required=row["people_notice_required"],
        affected_subjects=row["affected_subjects"], unknown_subjects=row["unknown_subjects"],
        pending_subjects=row["pending_subjects"], people_notified=row["people_notified"],
        people_without_contact=row["people_without_contact"],
        tenant_notices=NoticeCounts(**dict(notices)),
    )


OVERDUE_SQL = """(EXISTS (SELECT 1 FROM breach_tenant_notification n WHERE n.breach_id = b.id
                          AND n.notified_at IS NULL AND n.due_at < $1)
                  OR (b.authority_required AND b.authority_reported_at IS NULL
                      AND b.authority_due_at < $1))"""


ORDERING = Ordering(
    {"registered_at": ("b.registered_at", "timestamptz"),
     "discovered_at": ("b.discovered_at", "timestamptz")},
    tiebreak=("b.id", "uuid"), default="-registered_at")


async def list_breaches(
    *, conn: asyncpg.Connection, now: datetime, state: State | None, overdue: bool | None,
    page: PageParams, sort: SortOrder,
) -> list[BreachSummary]:
    """Up to `page.limit + 1` breaches after the page's cursor, in the order asked for."""
    where, order_by, args = sort.keyset(page, first_param=4)
    rows = await conn.fetch(
        f"""SELECT b.id, b.title, b.state, b.risk, b.discovered_at, b.registered_at,
                   b.affected_subjects,
                   (SELECT count(*) FROM breach_tenant_notification n WHERE n.breach_id = b.id)
                       AS tenants,
                   {OVERDUE_SQL} AS overdue
            FROM breach b
            WHERE ($2::text IS NULL OR b.state = $2)
              AND ($3::boolean IS NULL OR {OVERDUE_SQL} = $3)
              AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""",
        now, state.value if state else None, overdue, *args,
    )
    return [BreachSummary.model_validate(dict(r)) for r in rows]


async def deadlines(
    *, conn: asyncpg.Connection, now: datetime, within: timedelta, after: list[Any] | None,
    limit: int,
) -> list[Deadline]:
    """Notices due within the window or overdue, tenant notices and authority reports, soonest first."""
    rows = await conn.fetch(
        """SELECT * FROM (
               SELECT 'tenant' AS kind, n.breach_id, b.title, n.id AS notice_id, n.tenant_id,
                      n.due_at, n.id::text AS sort_key
               FROM breach_tenant_notification n JOIN breach b ON b.id = n.breach_id
               WHERE n.notified_at IS NULL AND n.due_at - $2::interval <= $1
               UNION ALL
               SELECT 'authority', b.id, b.title, NULL, NULL, b.authority_due_at, b.id::text
               FROM breach b
               WHERE b.authority_required AND b.authority_reported_at IS NULL
                 AND b.authority_due_at - $2::interval <= $1) d
           WHERE ($3::timestamptz IS NULL OR (d.due_at, d.sort_key) > ($3, $4::text))
           ORDER BY d.due_at, d.sort_key LIMIT $5""",
        now, within, datetime.fromisoformat(after[0]) if after else None,
        after[1] if after else None, limit,
    )
    return [
        Deadline(kind=r["kind"], breach_id=r["breach_id"], title=r["title"], notice_id=r["notice_id"],
                 tenant_id=r["tenant_id"], due_at=r["due_at"],
                 status="overdue" if r["due_at"] < now else "due_soon",
                 minutes_left=minutes_left(now, r["due_at"]))
        for r in rows
    ]


def deadline_key(d: Deadline) -> list[str]:
    return [d.due_at.isoformat(), str(d.notice_id or d.breach_id)]


async def replay(conn: asyncpg.Connection, breach_id: uuid.UUID) -> dict[str, Any]:
    """The current view derived from the timeline alone (facts, state, assessment)."""
    view: dict[str, Any] = {"facts": None, "state": State.reported.value, "risk": None}
    for entry in await timeline.entries(conn, breach_id):
        data = from_jsonb(entry["data"])
        if entry["kind"] == "reported":
            view["facts"] = data["facts"]
        elif entry["kind"] == "follow_up":
            view["facts"] = {**view["facts"], **data["changes"]}
        elif entry["kind"] == "state_changed":
            view["state"] = data["to"]
        elif entry["kind"] == "assessed":
            view["risk"] = data["risk"]
    return view
