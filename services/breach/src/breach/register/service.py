from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from breach.register.models import BreachCreate
from privacy_kit.outbox import emit
from privacy_kit.protocol import BreachRegistered


async def register(
    *, conn: asyncpg.Connection, body: BreachCreate, registered_by: str,
    tenant_hours: int, authority_hours: int, source: str,
) -> uuid.UUID:
    breach_id = uuid.uuid4()
    discovered = body.discovered_at if body.discovered_at.tzinfo else body.discovered_at.replace(tzinfo=UTC)
    await conn.execute(
        """INSERT INTO breach (id, title, facts, effects, measures, discovered_at, registered_by,
               authority_due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        breach_id, body.title, body.facts, body.effects, body.measures, discovered, registered_by,
        discovered + timedelta(hours=authority_hours),
    )
    unique = {(s.subject_id, s.tenant_id) for s in body.affected_subjects}
    await conn.executemany(
        "INSERT INTO breach_affected_subject (breach_id, subject_id, tenant_id) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        [(breach_id, subject, tenant) for subject, tenant in unique],
    )
    per_tenant = Counter(tenant for _, tenant in unique)
    await conn.executemany(
        """INSERT INTO breach_tenant_notification (breach_id, tenant_id, affected_count, due_at)
           VALUES ($1, $2, $3, $4)""",
        [(breach_id, t, n, discovered + timedelta(hours=tenant_hours)) for t, n in per_tenant.items()],
    )
    for tenant, count in per_tenant.items():
        await emit(conn, BreachRegistered(breach_id=breach_id, affected_subjects=count),
                   source=source, tenant_id=tenant)
    return breach_id


async def get(*, conn: asyncpg.Connection, breach_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM breach WHERE id = $1", breach_id)
    if row is None:
        return None
    notes = await conn.fetch(
        "SELECT * FROM breach_tenant_notification WHERE breach_id = $1 ORDER BY tenant_id", breach_id
    )
    now = datetime.now(UTC)
    return {
        **dict(row),
        "affected_subjects": sum(n["affected_count"] for n in notes),
        "notifications": [
            {**dict(n), "overdue": n["notified_at"] is None and n["due_at"] < now} for n in notes
        ],
    }
