"""The privacy-provider contract and the plumbing that makes a service take part in it.

A service that stores personal data implements `PrivacyProvider`; the kit then consumes
erasure requests for it, erases in one transaction, acknowledges with counts through the
outbox, publishes its inventory at start-up and serves an internal export endpoint.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Request

from privacy_kit.auth import require_roles
from privacy_kit.consumer import Subscription, on, subscribe
from privacy_kit.idempotency import forget_answers
from privacy_kit.messages import forget_subject_messages, forget_tenant_messages, subject_messages
from privacy_kit.outbox import emit, forget_subject_events, forget_tenant_events
from privacy_kit.protocol import (
    DataCategory,
    ErasureCompleted,
    ErasureRequested,
    ErasureScope,
    Event,
    InventoryPublished,
    RetentionCounted,
    RetentionCountRequested,
    SubjectRestricted,
    SubjectRestrictionLifted,
)

log = logging.getLogger(__name__)

__all__ = ["DataCategory", "ErasureScope", "PrivacyProvider", "internal_router",
           "privacy_subscriptions", "publish_inventory"]


class _DryRun(Exception):
    """Rolls a counting savepoint back."""


class PrivacyProvider(ABC):
    """What every store of personal data implements."""

    store: str

    @abstractmethod
    def inventory(self) -> list[DataCategory]: ...

    @abstractmethod
    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]: ...

    @abstractmethod
    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]: ...

    async def count(
        self, conn: asyncpg.Connection, scopes: list[ErasureScope]
    ) -> dict[str, int]:
        """How many records erasing these scopes one after the other would destroy or
        anonymise now, per category: a sweep's dry run (O15). By default the store erases inside
        a savepoint and rolls it back, so the count is exactly what erasure would do. A store may
        answer cheaper with count queries of its own, as long as they agree with `erase`."""
        counts: dict[str, int] = {}
        try:
            async with conn.transaction():
                for scope in scopes:
                    for category, n in (await self.erase(conn, scope)).items():
                        counts[category] = counts.get(category, 0) + n
                raise _DryRun
        except _DryRun:
            pass
        return counts

    async def restrict(self, conn: asyncpg.Connection, subject_id: str) -> None:  # noqa: B027
        """Stop all processing but storage. Stores without processing need nothing."""

    async def lift(self, conn: asyncpg.Connection, subject_id: str) -> None:  # noqa: B027
        """Resume processing after a restriction."""


def inventory_payload(provider: PrivacyProvider) -> InventoryPublished:
    return InventoryPublished(store=provider.store, categories=provider.inventory())


async def publish_inventory(conn: asyncpg.Connection, provider: PrivacyProvider, source: str) -> None:
    await emit(conn, inventory_payload(provider), source=source, key=provider.store)


def privacy_subscriptions(provider: PrivacyProvider, source: str) -> list[Subscription]:
    """The consumer side of the contract: erasure requests and restrictions."""

    async def on_erasure_requested(conn: asyncpg.Connection, event: Event[ErasureRequested]) -> None:
        request = event.payload
        if provider.store not in request.stores:
            return
        scope = request.scope
        # What legal holds keep (O17): the scope without its holds, less what was erased.
        unheld = await provider.count(conn, [scope.without_holds()]) if scope.has_holds else {}
        counts = await provider.erase(conn, scope)
        held = {c: n - counts.get(c, 0) for c, n in unheld.items() if n > counts.get(c, 0)}
        if scope.kind == "subject" and scope.subject_id:
            await forget_subject_events(conn, scope.subject_id)
            messages = await forget_subject_messages(conn, scope.subject_id)
        elif scope.kind == "tenant" and scope.tenant_id:
            held_people = scope.held_subject_ids
            await forget_tenant_events(conn, scope.tenant_id, keep_subjects=held_people)
            messages = await forget_tenant_messages(conn, scope.tenant_id,
                                                    keep_subjects=held_people)
        else:
            messages = 0
        if messages:
            counts = {**counts, "messages": messages}
        await forget_answers(conn, kind=scope.kind, subject_id=scope.subject_id,
                             tenant_id=scope.tenant_id)
        await emit(
            conn,
            ErasureCompleted(job_id=request.job_id, store=provider.store, counts=counts,
                             erased=sum(counts.values()), held=held),
            source=source,
            tenant_id=event.tenant_id,
            correlation_id=event.correlation_id or str(event.id),
            key=str(request.job_id),
        )

    async def on_count_requested(
        conn: asyncpg.Connection, event: Event[RetentionCountRequested]
    ) -> None:
        scopes = event.payload.scopes.get(provider.store)
        if scopes is None:
            return
        counts = await provider.count(conn, scopes)
        await emit(
            conn,
            RetentionCounted(sweep_id=event.payload.sweep_id, store=provider.store, counts=counts),
            source=source,
            correlation_id=event.correlation_id or str(event.id),
            key=str(event.payload.sweep_id),
        )

    async def on_restricted(conn: asyncpg.Connection, event: Event[SubjectRestricted]) -> None:
        await provider.restrict(conn, event.subject())

    async def on_lifted(conn: asyncpg.Connection, event: Event[SubjectRestrictionLifted]) -> None:
        await provider.lift(conn, event.subject())

    return subscribe(
        on(ErasureRequested, on_erasure_requested),
        on(RetentionCountRequested, on_count_requested),
        on(SubjectRestricted, on_restricted),
        on(SubjectRestrictionLifted, on_lifted),
    )


def internal_router(provider: PrivacyProvider) -> APIRouter:
    """Endpoints other services call with a service token, never routed by the gateway."""
    router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)
    service = Depends(require_roles("service"))

    @router.get("/subjects/{subject_id}/export", dependencies=[service])
    async def export_subject(subject_id: str, request: Request) -> dict[str, Any]:
        async with request.app.state.pool.acquire() as conn:
            data = await provider.export(conn, subject_id)
            messages = await subject_messages(conn, subject_id)
        if messages:
            data = {**data, "messages_sent_to_you": messages}
        return {"store": provider.store, "subject_id": subject_id, "data": data}

    @router.get("/inventory", dependencies=[service])
    async def inventory() -> dict[str, Any]:
        return inventory_payload(provider).model_dump(mode="json")

    return router
