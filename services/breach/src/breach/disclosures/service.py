"""Disclosures to authorities (O30): recorded once; only a secrecy ground can be lifted later."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from breach.disclosures.models import Disclosure, DisclosureCreate
from breach.i18n import tr
from breach.settings import Settings
from breach.timeline import Actor
from privacy_kit.errors import ApiError
from privacy_kit.outbox import emit
from privacy_kit.paging import PageParams
from privacy_kit.protocol import DisclosureRecorded
from privacy_kit.sorting import Ordering, SortOrder

VISIBLE_TO_TENANT = "(secrecy_ground IS NULL OR secrecy_lifted_at IS NOT NULL)"


def not_found() -> ApiError:
    return ApiError(404, "not_found", tr("There is no disclosure with this id."))


async def record(
    *, conn: asyncpg.Connection, body: DisclosureCreate, actor: Actor, now: datetime,
    settings: Settings,
) -> uuid.UUID:
    disclosure_id = uuid.uuid4()
    subjects = list(dict.fromkeys(body.subject_ids))
    await conn.execute(
        """INSERT INTO authority_disclosure (id, tenant_id, authority, what, data_categories,
               legal_basis, disclosed_at, tenant_informed_at, not_informed_reason, secrecy_ground,
               subjects, recorded_by, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        disclosure_id, body.tenant_id, body.authority, body.what, body.data_categories,
        body.legal_basis, body.disclosed_at, body.tenant_informed_at, body.not_informed_reason,
        body.secrecy_ground, len(subjects), actor.sub, now,
    )
    if subjects:
        await conn.execute(
            """INSERT INTO authority_disclosure_subject (disclosure_id, subject_id, tenant_id)
               SELECT $1, s, $3 FROM unnest($2::text[]) AS s""",
            disclosure_id, subjects, body.tenant_id,
        )
    beforehand = body.tenant_informed_at is not None and body.tenant_informed_at <= body.disclosed_at
    await emit(
        conn,
        DisclosureRecorded(disclosure_id=disclosure_id, subjects=len(subjects),
                           tenant_informed_beforehand=beforehand,
                           withheld_from_tenant=body.secrecy_ground is not None),
        source=settings.service_name, tenant_id=body.tenant_id,
    )
    return disclosure_id


async def lift_secrecy(*, conn: asyncpg.Connection, disclosure_id: uuid.UUID, now: datetime) -> None:
    row = await conn.fetchrow(
        "SELECT secrecy_ground, secrecy_lifted_at FROM authority_disclosure WHERE id = $1 FOR UPDATE",
        disclosure_id)
    if row is None:
        raise not_found()
    if row["secrecy_ground"] is None:
        raise ApiError(409, "not_secret", tr("This disclosure was never withheld from the tenant."))
    if row["secrecy_lifted_at"] is None:
        await conn.execute("UPDATE authority_disclosure SET secrecy_lifted_at = $2 WHERE id = $1",
                           disclosure_id, now)


async def get(conn: asyncpg.Connection, disclosure_id: uuid.UUID,
              tenant_id: str | None = None) -> Disclosure | None:
    """One disclosure; with `tenant_id`, only if that tenant may see it."""
    row = await conn.fetchrow(
        f"""SELECT * FROM authority_disclosure WHERE id = $1
            AND ($2::text IS NULL OR (tenant_id = $2 AND {VISIBLE_TO_TENANT}))""",
        disclosure_id, tenant_id)
    return Disclosure.model_validate(dict(row)) if row else None


ORDERING = Ordering({"disclosed_at": ("disclosed_at", "timestamptz")}, tiebreak=("id", "uuid"),
                    default="-disclosed_at")


async def list_disclosures(
    conn: asyncpg.Connection, *, tenant_id: str | None, tenant_view: bool, page: PageParams,
    sort: SortOrder,
) -> list[Disclosure]:
    """Up to `page.limit + 1` disclosures after the page's cursor, in the order asked for."""
    where, order_by, args = sort.keyset(page, first_param=3)
    rows = await conn.fetch(
        f"""SELECT * FROM authority_disclosure
            WHERE ($1::text IS NULL OR tenant_id = $1) AND (NOT $2 OR {VISIBLE_TO_TENANT})
              AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""",
        tenant_id, tenant_view, *args,
    )
    return [Disclosure.model_validate(dict(r)) for r in rows]
