"""Event types this service emits on privacy.consent. Payloads: ids, purposes, states only."""

from __future__ import annotations

import asyncpg

from privacy_kit.events import Envelope, Topic
from privacy_kit.outbox import emit

SOURCE = "consent"
CONSENT_CHANGED = "consent.changed"
ANONYMISATION_OPTED_OUT = "anonymisation.opted_out"
ANONYMISATION_OPTED_IN = "anonymisation.opted_in"
POLICY_PUBLISHED = "policy.published"
ANONYMISED_DATA = "anonymised-data"


async def consent_changed(
    conn: asyncpg.Connection, *, subject_id: str, purpose: str, granted: bool,
    tenant_id: str | None = None,
) -> None:
    """Announce a new effective state; O13 also gets its own event type, which
    training-records and retention consume before anonymising."""
    await emit(conn, Topic.CONSENT, Envelope(
        type=CONSENT_CHANGED, source=SOURCE, subject_id=subject_id, tenant_id=tenant_id,
        data={"purpose": purpose, "granted": granted},
    ))
    if purpose == ANONYMISED_DATA:
        await emit(conn, Topic.CONSENT, Envelope(
            type=ANONYMISATION_OPTED_IN if granted else ANONYMISATION_OPTED_OUT,
            source=SOURCE, subject_id=subject_id, tenant_id=tenant_id, data={},
        ))
