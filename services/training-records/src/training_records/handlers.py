"""Training-records' Kafka handlers besides the kit's erasure and restriction: O13 opt-outs."""

from __future__ import annotations

import uuid

import asyncpg

from privacy_kit.consumer import on, subscribe
from privacy_kit.protocol import AnonymisationOptedOut, ConsentChanged, Event

ANONYMISED_DATA = "anonymised-data"


async def _set_opt_out(conn: asyncpg.Connection, subject_id: str, opted_out: bool) -> None:
    try:
        sid = uuid.UUID(subject_id)
    except ValueError:
        return  # not a pseudonymous id of ours
    await conn.execute(
        """INSERT INTO anonymisation_opt_out (subject_id, opted_out) VALUES ($1, $2)
           ON CONFLICT (subject_id) DO UPDATE SET opted_out = $2, changed_at = now()""",
        sid, opted_out,
    )


async def on_consent_changed(conn: asyncpg.Connection, event: Event[ConsentChanged]) -> None:
    """Withdrawing the 'anonymised-data' purpose means: keep not even anonymised data (O13);
    granting it again lifts the opt-out."""
    if event.payload.purpose == ANONYMISED_DATA:
        await _set_opt_out(conn, event.subject(), opted_out=not event.payload.granted)


async def on_opted_out(conn: asyncpg.Connection, event: Event[AnonymisationOptedOut]) -> None:
    await _set_opt_out(conn, event.subject(), opted_out=True)


SUBSCRIPTIONS = subscribe(on(ConsentChanged, on_consent_changed), on(AnonymisationOptedOut, on_opted_out))
