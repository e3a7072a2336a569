"""Retention's Kafka handlers: inventories in, acknowledgements and dry-run counts in, erasure
triggers in."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

import asyncpg

from privacy_kit.consumer import Subscription, on, subscribe
from privacy_kit.protocol import (
    ErasureCompleted,
    Event,
    InventoryPublished,
    RetentionCounted,
    SubjectErasureRequested,
)
from retention.erasure import service
from retention.erasure.models import ErasureJobCreate
from retention.erasure.tenancy import TRAINING_RECORDS, known_tenant, subject_tenant
from retention.legal_hold import stopped
from retention.register import service as register
from retention.replay import service as replay
from retention.settings import Settings
from retention.sweep import service as sweeps

log = logging.getLogger(__name__)


def subscriptions(settings: Settings) -> list[Subscription]:
    deadline = timedelta(seconds=settings.erasure_deadline_s)

    async def on_inventory(conn: asyncpg.Connection, event: Event[InventoryPublished]) -> None:
        await register.record_inventory(conn=conn, inventory=event.payload,
                                        published_at=event.occurred_at)

    async def on_completed(conn: asyncpg.Connection, event: Event[ErasureCompleted]) -> None:
        answer = event.payload
        finished = await service.acknowledge(
            conn=conn, job_id=answer.job_id, store=answer.store, counts=answer.counts,
            erased=answer.erased, held=answer.held, keys=settings.proof_keys,
            source=settings.service_name,
        )
        if finished is None:  # no such job: an answer to a replayed erasure, or to nothing
            await replay.acknowledge(
                conn=conn, item_id=answer.job_id, store=answer.store, counts=answer.counts,
                erased=answer.erased, signing_key=settings.signing_key,
                source=settings.service_name)
            return
        if not finished:
            return
        await sweeps.job_finished(conn=conn, job_id=answer.job_id)
        # A hold released while the job ran: erase what it kept right away.
        if await service.released_holds_of(conn=conn, job_id=answer.job_id):
            await service.follow_up(conn=conn, job_id=answer.job_id,
                                    secret=settings.certificate_secret, deadline=deadline,
                                    source=settings.service_name, requested_by="retention")

    async def on_counted(conn: asyncpg.Connection, event: Event[RetentionCounted]) -> None:
        answer = event.payload
        await sweeps.record_count(conn=conn, sweep_id=answer.sweep_id, store=answer.store,
                                  counts=answer.counts, secret=settings.certificate_secret,
                                  deadline=deadline, source=settings.service_name)

    async def on_subject_erasure_requested(
        conn: asyncpg.Connection, event: Event[SubjectErasureRequested]
    ) -> None:
        request = ErasureJobCreate(scope="subject", subject_id=event.subject(),
                                   reason=event.payload.reason)
        # Training-records writes in its request whose participant the person is: no question
        # back over HTTP (thousands at once after a sweep ends accounts), and the answer holds
        # for a person it has erased already (an ended account), so that a hold on their tenant
        # still holds the erasure elsewhere (O17).
        tenant_of = (known_tenant(event.tenant_id)
                     if event.source == TRAINING_RECORDS and event.tenant_id
                     else partial(subject_tenant, settings))
        try:
            await service.create_job(
                conn=conn, request=request, requested_by=event.source,
                trigger=event.payload.trigger, secret=settings.certificate_secret,
                deadline=deadline, source=settings.service_name,
                expected_stores=settings.expected_stores,
                tenant_of=tenant_of, hold_when_unresolved=True,
            )
        except service.UnderLegalHold:
            log.warning("erasure of a subject under legal hold was asked by %s; kept", event.source)
            # O6/O17: shown to the DPO, not only logged (GET /v1/legal-holds/stopped-erasures).
            await stopped.record(conn=conn, event_id=event.id, subject_id=event.subject(),
                                 tenant_id=event.tenant_id, reason_code=event.payload.reason,
                                 trigger=event.payload.trigger, requested_by=event.source)

    return subscribe(
        on(InventoryPublished, on_inventory),
        on(ErasureCompleted, on_completed),
        on(RetentionCounted, on_counted),
        on(SubjectErasureRequested, on_subject_erasure_requested),
    )
