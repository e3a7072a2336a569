"""What consent announces on privacy.consent: ids, purposes and states only."""

from __future__ import annotations

import asyncpg

from privacy_kit.outbox import emit
from privacy_kit.protocol import AnonymisationOptedOut, ConsentChanged, PolicyPublished

SOURCE = "consent"
ANONYMISED_DATA = "anonymised-data"


async def consent_changed(
    conn: asyncpg.Connection, *, subject_id: str, purpose: str, granted: bool,
    tenant_id: str | None = None,
) -> None:
    """Announce a new effective state; withdrawing `anonymised-data` is also announced as the
    O13 opt-out, which the stores consume before anonymising."""
    await emit(conn, ConsentChanged(purpose=purpose, granted=granted), source=SOURCE,
               subject_id=subject_id, tenant_id=tenant_id)
    if purpose == ANONYMISED_DATA and not granted:
        await emit(conn, AnonymisationOptedOut(), source=SOURCE, subject_id=subject_id,
                   tenant_id=tenant_id)


async def policy_published(conn: asyncpg.Connection, policy: PolicyPublished) -> None:
    await emit(conn, policy, source=SOURCE, key=f"policy:{policy.version}")
