"""Tenant notices (O27) and people notices (O28): delivery, acknowledgement, who was told when."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from breach import timeline
from breach.clock import local, minutes_between, minutes_left
from breach.i18n import tr
from breach.lookup import Located
from breach.notices.models import Contact, NoticeContent, PeopleNoticeResult, TenantNotice
from breach.register.models import Facts, Risk
from breach.register.service import lock
from breach.settings import Settings
from breach.timeline import Actor, from_jsonb
from privacy_kit.errors import ApiError
from privacy_kit.messages import queue_message
from privacy_kit.outbox import emit
from privacy_kit.paging import PageParams
from privacy_kit.protocol import (
    BreachNoticeDueSoon,
    BreachNoticeOverdue,
    BreachPeopleNotified,
    BreachTenantNotified,
)
from privacy_kit.sorting import Ordering, SortOrder

NOTICE_SQL = """
    SELECT n.id, n.breach_id, n.tenant_id, n.affected_count, n.all_participants_may_be_affected,
           n.participants_in_tenant, n.opened_at, greatest(n.updated_at, b.updated_at) AS updated_at,
           n.due_at, n.notified_at, n.notified_via, n.acknowledged_at, n.acknowledged_by,
           b.facts, b.risk, b.state
    FROM breach_tenant_notification n JOIN breach b ON b.id = n.breach_id"""


def not_found() -> ApiError:
    return ApiError(404, "not_found", tr("There is no breach notice with this id."))


def contact(settings: Settings) -> Contact:
    return Contact(organisation=settings.organisation_name, name=settings.dpo_name,
                   email=settings.dpo_email, phone=settings.dpo_phone)


def to_notice(row: asyncpg.Record, now: datetime, settings: Settings) -> TenantNotice:
    facts = Facts.model_validate(from_jsonb(row["facts"]))
    content = NoticeContent(
        **facts.model_dump(exclude={"approx_subjects", "approx_records", "platform_role"}),
        risk=row["risk"], state=row["state"],
    )
    return TenantNotice(
        id=row["id"], breach_id=row["breach_id"], tenant_id=row["tenant_id"],
        status="notified" if row["notified_at"] else "open",
        affected_subjects=row["affected_count"],
        all_participants_may_be_affected=row["all_participants_may_be_affected"],
        participants_in_tenant=row["participants_in_tenant"], opened_at=row["opened_at"],
        updated_at=row["updated_at"], due_at=row["due_at"],
        overdue=row["notified_at"] is None and row["due_at"] < now,
        minutes_left=minutes_left(now, row["due_at"]), notified_at=row["notified_at"],
        notified_via=row["notified_via"], acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"], content=content, contact=contact(settings),
    )


async def get(
    *, conn: asyncpg.Connection, notice_id: uuid.UUID, now: datetime, settings: Settings,
) -> TenantNotice | None:
    row = await conn.fetchrow(NOTICE_SQL + " WHERE n.id = $1", notice_id)
    return to_notice(row, now, settings) if row else None


async def tenant_of(conn: asyncpg.Connection, notice_id: uuid.UUID) -> str:
    tenant: str | None = await conn.fetchval(
        "SELECT tenant_id FROM breach_tenant_notification WHERE id = $1", notice_id)
    if tenant is None:
        raise not_found()
    return tenant


ORDERING = Ordering(
    {"opened_at": ("n.opened_at", "timestamptz"), "due_at": ("n.due_at", "timestamptz")},
    tiebreak=("n.id", "uuid"), default="-opened_at")


async def list_notices(
    *, conn: asyncpg.Connection, now: datetime, settings: Settings, tenant_id: str | None,
    breach_id: uuid.UUID | None, status: str | None, page: PageParams, sort: SortOrder,
) -> list[TenantNotice]:
    """Up to `page.limit + 1` notices after the page's cursor, in the order asked for."""
    where, order_by, args = sort.keyset(page, first_param=4)
    rows = await conn.fetch(
        NOTICE_SQL + f"""
        WHERE ($1::text IS NULL OR n.tenant_id = $1) AND ($2::uuid IS NULL OR n.breach_id = $2)
          AND ($3::text IS NULL OR ($3 = 'open') = (n.notified_at IS NULL))
          AND {where}
        ORDER BY {order_by} LIMIT {page.limit + 1}""",
        tenant_id, breach_id, status, *args,
    )
    return [to_notice(r, now, settings) for r in rows]


async def mark_notified(
    *, conn: asyncpg.Connection, notice_id: uuid.UUID, via: str, at: datetime, actor: Actor,
    now: datetime, settings: Settings, acknowledged: bool, note: str = "",
) -> None:
    """A Beheerder acknowledged the notice, or staff delivered it another way."""
    notice = await conn.fetchrow(
        "SELECT * FROM breach_tenant_notification WHERE id = $1", notice_id)
    if notice is None:
        raise not_found()
    await lock(conn, notice["breach_id"])
    notice = await conn.fetchrow(
        "SELECT * FROM breach_tenant_notification WHERE id = $1 FOR UPDATE", notice_id)
    first = notice["notified_at"] is None
    if acknowledged and notice["acknowledged_at"] is not None:
        return  # acknowledged before: the first time is the one kept
    await conn.execute(
        """UPDATE breach_tenant_notification SET
               notified_at = coalesce(notified_at, $2), notified_via = coalesce(notified_via, $3),
               acknowledged_at = CASE WHEN $4 THEN $2 ELSE acknowledged_at END,
               acknowledged_by = CASE WHEN $4 THEN $5 ELSE acknowledged_by END
           WHERE id = $1""",
        notice_id, at, via, acknowledged, actor.sub,
    )
    late = at > notice["due_at"]
    kind = "tenant_notified" if first else ("tenant_notice_acknowledged" if acknowledged
                                            else "tenant_notice_delivered")
    await timeline.append(
        conn, breach_id=notice["breach_id"], kind=kind, actor=actor, at=now,
        data={"notice_id": str(notice_id), "tenant_id": notice["tenant_id"], "via": via,
              "at": at.isoformat(), "late": late, "note": note},
    )
    if first:
        await emit(
            conn,
            BreachTenantNotified(breach_id=notice["breach_id"], notice_id=notice_id, via=via,
                                 late=late),
            source=settings.service_name, tenant_id=notice["tenant_id"],
        )


# --- People (Art. 34) ---------------------------------------------------------------------


async def people_to_tell(
    conn: asyncpg.Connection, breach_id: uuid.UUID, subject_ids: list[str] | None,
) -> tuple[list[str], int, int]:
    """Affected subjects not yet told (of those named); and counts of already told / not affected."""
    rows = await conn.fetch(
        """SELECT a.subject_id, (p.subject_id IS NOT NULL) AS told
           FROM breach_affected_subject a
           LEFT JOIN breach_people_notice p
                  ON p.breach_id = a.breach_id AND p.subject_id = a.subject_id
           WHERE a.breach_id = $1 AND a.lookup = 'found'
             AND ($2::text[] IS NULL OR a.subject_id = ANY($2::text[]))""",
        breach_id, list(dict.fromkeys(subject_ids)) if subject_ids is not None else None,
    )
    todo = [r["subject_id"] for r in rows if not r["told"]]
    told = len(rows) - len(todo)
    not_affected = len(set(subject_ids)) - len(rows) if subject_ids is not None else 0
    return todo, told, not_affected


def require_high_risk(row: asyncpg.Record) -> None:
    if row["risk"] != Risk.high_risk.value:
        raise ApiError(
            409, "people_notice_not_required",
            tr("People are told when the risk is assessed as high (Art. 34); assess it "
               "first."))


def people_message(facts: Facts, settings: Settings, advice: str) -> tuple[str, str]:
    when = local(facts.occurred_from or facts.discovered_at)
    lines = [
        "Nederlands: Er is een datalek geweest waarbij uw persoonsgegevens betrokken kunnen zijn.",
        "English: There has been a personal data breach that may involve your personal data.",
        "",
        f"What happened: {facts.title}. {facts.description}".strip(),
        f"When: {when:%Y-%m-%d %H:%M %Z} (Amsterdam)" if when else "",
        "Data concerned: " + (", ".join(facts.data_categories) or "being investigated"),
        f"Likely consequences: {facts.consequences or 'being investigated'}",
        f"Measures taken: {facts.measures_taken or 'being taken'}",
        f"Measures proposed: {facts.measures_proposed}" if facts.measures_proposed else "",
        f"Advice: {advice}" if advice else "",
        "",
        f"Questions: {settings.dpo_name or 'the data protection officer'}, "
        f"{settings.organisation_name}"
        + (f", {settings.dpo_email}" if settings.dpo_email else "")
        + (f", {settings.dpo_phone}" if settings.dpo_phone else ""),
    ]
    title = "Datalek: uw gegevens / A data breach affecting your data"
    return title, "\n".join(line for line in lines if line is not None) + "\n"


async def tell_people(
    *, conn: asyncpg.Connection, breach_id: uuid.UUID, subject_ids: list[str], located: Located,
    already: int, not_affected: int, advice: str, actor: Actor, now: datetime, settings: Settings,
) -> PeopleNoticeResult:
    """Write one message per person through the kit's message outbox and record who and when."""
    row = await lock(conn, breach_id)
    require_high_risk(row)
    facts = Facts.model_validate(from_jsonb(row["facts"]))
    title, body = people_message(facts, settings, advice)
    reachable = [s for s in subject_ids if located.email_of.get(s)]
    claimed = await conn.fetch(
        """INSERT INTO breach_people_notice (id, breach_id, subject_id, tenant_id, notified_at)
           SELECT gen_random_uuid(), $1, s, t, $4 FROM unnest($2::text[], $3::text[]) AS x(s, t)
           ON CONFLICT DO NOTHING RETURNING id, subject_id, tenant_id""",
        breach_id, reachable, [located.tenant_of.get(s) for s in reachable], now,
    )
    for notice in claimed:
        message_id = await queue_message(
            conn, kind="breach_notice", recipient=located.email_of[notice["subject_id"]],
            title=title, body=body, subject_id=notice["subject_id"], tenant_id=notice["tenant_id"],
        )
        await conn.execute("UPDATE breach_people_notice SET message_id = $2 WHERE id = $1",
                           notice["id"], message_id)
    without = len(subject_ids) - len(reachable)
    result = PeopleNoticeResult(notified=len(claimed), already_notified=already + len(reachable)
                                - len(claimed), without_contact=without, not_affected=not_affected)
    await conn.execute(
        """UPDATE breach SET people_notified = people_notified + $2,
               people_without_contact = $3, updated_at = $4 WHERE id = $1""",
        breach_id, result.notified, without, now,
    )
    await timeline.append(
        conn, breach_id=breach_id, kind="people_notified", actor=actor, at=now,
        data={"notified": result.notified, "without_contact": without, "channel": "e-mail",
              "advice": advice},
    )
    await emit(conn, BreachPeopleNotified(breach_id=breach_id, notified=result.notified,
                                          without_contact=without),
               source=settings.service_name, key=str(breach_id))
    return result


# --- Deadlines (the sweep) ----------------------------------------------------------------


@dataclass
class SweepResult:
    due_soon: int = 0
    overdue: int = 0
    resolved: int = 0


async def announce_deadlines(*, conn: asyncpg.Connection, now: datetime, settings: Settings) -> SweepResult:
    """Announce, once each, the notices that became overdue or due soon. In the caller's transaction."""
    window = timedelta(hours=settings.due_soon_hours)
    result = SweepResult()
    actor = Actor(settings.service_name, ["service"])
    overdue = await conn.fetch(
        """UPDATE breach_tenant_notification SET overdue_emitted_at = $1
           WHERE notified_at IS NULL AND overdue_emitted_at IS NULL AND due_at < $1
           RETURNING id, breach_id, tenant_id, due_at""", now)
    due_soon = await conn.fetch(
        """UPDATE breach_tenant_notification SET due_soon_emitted_at = $1
           WHERE notified_at IS NULL AND due_soon_emitted_at IS NULL AND overdue_emitted_at IS NULL
             AND due_at >= $1 AND due_at - $2::interval <= $1
           RETURNING id, breach_id, tenant_id, due_at""", now, window)
    authority_overdue = await conn.fetch(
        """UPDATE breach SET authority_overdue_emitted_at = $1
           WHERE authority_required AND authority_reported_at IS NULL
             AND authority_overdue_emitted_at IS NULL AND authority_due_at < $1
           RETURNING id AS breach_id, authority_due_at AS due_at""", now)
    authority_due_soon = await conn.fetch(
        """UPDATE breach SET authority_due_soon_emitted_at = $1
           WHERE authority_required AND authority_reported_at IS NULL
             AND authority_due_soon_emitted_at IS NULL AND authority_overdue_emitted_at IS NULL
             AND authority_due_at >= $1 AND authority_due_at - $2::interval <= $1
           RETURNING id AS breach_id, authority_due_at AS due_at""", now, window)
    for kind, rows in (("tenant", overdue), ("authority", authority_overdue)):
        for row in rows:
            notice_id = row["id"] if kind == "tenant" else None
            tenant = row["tenant_id"] if kind == "tenant" else None
            await emit(conn, BreachNoticeOverdue(
                breach_id=row["breach_id"], notice=kind, notice_id=notice_id, due_at=row["due_at"],
                minutes_overdue=minutes_between(row["due_at"], now)),
                source=settings.service_name, tenant_id=tenant, key=str(row["breach_id"]))
            await timeline.append(conn, breach_id=row["breach_id"], kind="notice_overdue",
                                  actor=actor, at=now, data={
                                      "notice": kind, "notice_id": notice_id, "tenant_id": tenant,
                                      "due_at": row["due_at"].isoformat()})
            result.overdue += 1
    for kind, rows in (("tenant", due_soon), ("authority", authority_due_soon)):
        for row in rows:
            notice_id = row["id"] if kind == "tenant" else None
            tenant = row["tenant_id"] if kind == "tenant" else None
            await emit(conn, BreachNoticeDueSoon(
                breach_id=row["breach_id"], notice=kind, notice_id=notice_id, due_at=row["due_at"],
                minutes_left=minutes_between(now, row["due_at"])),
                source=settings.service_name, tenant_id=tenant, key=str(row["breach_id"]))
            await timeline.append(conn, breach_id=row["breach_id"], kind="notice_due_soon",
                                  actor=actor, at=now, data={
                                      "notice": kind, "notice_id": notice_id, "tenant_id": tenant,
                                      "due_at": row["due_at"].isoformat()})
            result.due_soon += 1
    return result
