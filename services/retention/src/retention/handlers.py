"""Retention's Kafka handlers: inventories in, acknowledgements in, erasure triggers in."""

from __future__ import annotations

import logging
from datetime import timedelta

import asyncpg

from privacy_kit.consumer import Subscription, on, subscribe
from privacy_kit.protocol import (
    ErasureCompleted,
    Event,
    InventoryPublished,
    SubjectErasureRequested,
)
from retention.erasure import service
from retention.erasure.models import ErasureJobCreate
from retention.register import service as register
from retention.replay import service as replay
from retention.settings import Settings

log = logging.getLogger(__name__)


def subscriptions(settings: Settings) -> list[Subscription]:
    async def on_inventory(conn: asyncpg.Connection, event: Event[InventoryPublished]) -> None:
        await register.record_inventory(conn=conn, inventory=event.payload,
                                        published_at=event.occurred_at)

    async def on_completed(conn: asyncpg.Connection, event: Event[ErasureCompleted]) -> None:
        answer = event.payload
        if await replay.acknowledge(
            conn=conn, item_id=answer.job_id, store=answer.store, counts=answer.counts,
            erased=answer.erased, signing_key=settings.signing_key, source=settings.service_name,
        ):
            return  # an answer to a replayed erasure, not to a job
        await service.acknowledge(
            conn=conn, job_id=answer.job_id, store=answer.store, counts=answer.counts,
            erased=answer.erased, keys=settings.proof_keys, source=settings.service_name,
        )

    async def on_subject_erasure_requested(
        conn: asyncpg.Connection, event: Event[SubjectErasureRequested]
    ) -> None:
        request = ErasureJobCreate(scope="subject", subject_id=event.subject(),
                                   reason=event.payload.reason)
        try:
            await service.create_job(
                conn=conn, request=request, requested_by=event.source,
                trigger=event.payload.trigger, secret=settings.certificate_secret,
                deadline=timedelta(seconds=settings.erasure_deadline_s),
                source=settings.service_name,
            )
        except service.UnderLegalHold:
            log.warning("erasure of a subject under legal hold was asked by %s; kept", event.source)

    return subscribe(
        on(InventoryPublished, on_inventory),
        on(ErasureCompleted, on_completed),
        on(SubjectErasureRequested, on_subject_erasure_requested),
    )
