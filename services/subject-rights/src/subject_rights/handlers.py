"""Subject-rights' Kafka handlers: an erasure job's completion, the stores' confirmations of a
restriction, an objection or a lift."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg

from privacy_kit.calls import service_client
from privacy_kit.consumer import Subscription, on, subscribe
from privacy_kit.protocol import ErasureJobCompleted, Event, SubjectRestrictionConfirmed
from subject_rights import clients
from subject_rights.cases import flows, service
from subject_rights.settings import Settings


def subscriptions(settings: Settings) -> list[Subscription]:
    async def on_job_completed(conn: asyncpg.Connection, event: Event[ErasureJobCompleted]) -> None:
        job_id = event.payload.job_id
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 25))", str(job_id))
        case = await conn.fetchval("SELECT id FROM subject_request WHERE erasure_job_id = $1",
                                   job_id)
        if case is None:  # not ours, or the case has not recorded the job's id yet
            await conn.execute(
                """INSERT INTO erasure_job_outcome (job_id, completed_at, stores, erased)
                   VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
                job_id, event.occurred_at, event.payload.stores, event.payload.erased)
            return
        # A failure is retried by the consumer.
        job = await clients.erasure_job(service_client(), settings, job_id)
        await flows.finish_erasure_case(conn, job_id, job)

    async def on_confirmed(
        conn: asyncpg.Connection, event: Event[SubjectRestrictionConfirmed]
    ) -> None:
        try:
            case_id = uuid.UUID(event.correlation_id or "")
        except ValueError:
            return  # a restriction that no request of ours asked for
        row = await conn.fetchrow("SELECT * FROM subject_request WHERE id = $1 FOR UPDATE",
                                  case_id)
        if row is None:
            return
        answer = event.payload
        await conn.execute(
            """INSERT INTO restriction_confirmation (request_id, store, cause, confirmed_at)
               VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
            case_id, answer.store, answer.cause, event.occurred_at)
        await record_confirmation(conn, row, answer.store, answer.cause, event.occurred_at)

    return subscribe(on(ErasureJobCompleted, on_job_completed),
                     on(SubjectRestrictionConfirmed, on_confirmed))


async def record_confirmation(
    conn: asyncpg.Connection, row: asyncpg.Record, store: str, cause: str, at: datetime
) -> None:
    """The case records when each store confirmed; once every expected store has, a restriction
    (or objection) is in force everywhere and the request is completed, or the lift is done."""
    outcome = json.loads(row["outcome"] or "{}")
    restriction = outcome.get("restriction")
    if not restriction:
        return
    key = "lift_confirmed" if cause == "lifted" else "confirmed"
    confirmed = restriction.setdefault(key, {})
    confirmed.setdefault(store, at.astimezone(UTC).isoformat())
    expected = set(restriction.get("expected_stores", []))
    everywhere = expected <= set(confirmed)
    if cause != "lifted" and everywhere and row["status"] == "in_progress":
        restriction["in_force_at"] = max(confirmed.values())
        await service.transition(conn, row, action="completed", to_status="completed",
                                 actor=flows.SYSTEM, actor_role="system",
                                 note="every store confirmed the restriction",
                                 outcome={**outcome, "restriction": restriction})
        return
    if cause == "lifted" and everywhere and not restriction.get("lifted_at"):
        restriction["lifted_at"] = max(confirmed.values())
        await service.transition(conn, row, action="restriction_lifted",
                                 to_status=row["status"], actor=flows.SYSTEM,
                                 actor_role="system", note="every store confirmed the lift",
                                 outcome={**outcome, "restriction": restriction})
        return
    await service.merge_outcome(conn, row["id"], {"restriction": restriction})
