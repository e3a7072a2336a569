"""Events this service consumes besides the kit's erasure and restriction: O13 opt-outs."""

from __future__ import annotations

import uuid

import asyncpg

from privacy_kit.consumer import Subscription
from privacy_kit.events import Envelope, Topic

ANONYMISED_DATA = "anonymised-data"


async def _set_opt_out(conn: asyncpg.Connection, subject_id: str | None, opted_out: bool) -> None:
    try:
        sid = uuid.UUID(str(subject_id))
    except ValueError:
        return  # not a pseudonymous id of ours
    await conn.execute(
        """INSERT INTO anonymisation_opt_out (subject_id, opted_out) VALUES ($1, $2)
           ON CONFLICT (subject_id) DO UPDATE SET opted_out = $2, changed_at = now()""",
        sid, opted_out,
    )


async def on_consent_changed(conn: asyncpg.Connection, event: Envelope) -> None:
    """Withdrawing the 'anonymised-data' purpose means: keep not even anonymised data (O13)."""
    if event.data.get("purpose") != ANONYMISED_DATA or not event.subject_id:
        return
    granted = event.data.get("granted")
    if isinstance(granted, bool):
        await _set_opt_out(conn, event.subject_id, opted_out=not granted)


async def on_opted_out(conn: asyncpg.Connection, event: Envelope) -> None:
    if event.subject_id:
        await _set_opt_out(conn, event.subject_id, opted_out=True)


SUBSCRIPTIONS = [
    Subscription(Topic.CONSENT, {
        "consent.changed": on_consent_changed,
        "anonymisation.opted_out": on_opted_out,
    }),
]
