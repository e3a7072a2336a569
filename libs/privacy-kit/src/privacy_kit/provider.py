"""The privacy-provider contract and the plumbing that makes a service take part in it.

A service that stores personal data implements `PrivacyProvider`; the kit then consumes
erasure requests for it, erases in one transaction, acknowledges with counts through the
outbox, publishes its inventory at start-up and serves an internal export endpoint.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from privacy_kit.auth import require_roles
from privacy_kit.consumer import Subscription
from privacy_kit.db import rows_affected
from privacy_kit.events import Envelope, Topic
from privacy_kit.idempotency import forget_answers
from privacy_kit.outbox import emit

log = logging.getLogger(__name__)

ERASURE_REQUESTED = "erasure.requested"
ERASURE_COMPLETED = "erasure.completed"
INVENTORY_PUBLISHED = "inventory.published"
SUBJECT_RESTRICTED = "subject.restricted"
SUBJECT_RESTRICTION_LIFTED = "subject.restriction_lifted"


@dataclass(frozen=True)
class DataCategory:
    """One category of data a store holds, as the record of processing (Art. 30) needs it."""

    name: str
    fields: list[str]
    purpose: str
    legal_basis: str
    retention_rule: str
    recipients: list[str] = field(default_factory=list)
    personal: bool = True


class ErasureScope(BaseModel):
    """What to destroy: one subject, one tenant, or one category older than a cut-off."""

    kind: Literal["subject", "tenant", "category"]
    subject_id: str | None = None
    tenant_id: str | None = None
    category: str | None = None
    older_than: datetime | None = None
    # Subjects under legal hold (O17): never erased by a tenant or category scope.
    held_subject_ids: list[str] = []


class PrivacyProvider(ABC):
    """What every store of personal data implements."""

    store: str

    @abstractmethod
    def inventory(self) -> list[DataCategory]: ...

    @abstractmethod
    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]: ...

    @abstractmethod
    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]: ...

    async def restrict(self, conn: asyncpg.Connection, subject_id: str) -> None:  # noqa: B027
        """Stop all processing but storage. Stores without processing need nothing."""

    async def lift(self, conn: asyncpg.Connection, subject_id: str) -> None:  # noqa: B027
        """Resume processing after a restriction."""


async def forget_subject_events(conn: asyncpg.Connection, subject_id: str) -> int:
    """Forget the outbox events that name an erased subject, published or not yet.

    An event still waiting for the relay is about someone who no longer exists here, so it is
    not sent after the erasure either. A row the relay holds while publishing is deleted once
    the relay's transaction ends (the DELETE waits for its row lock).
    """
    status = await conn.execute(
        "DELETE FROM outbox WHERE envelope->>'subject_id' = $1", subject_id
    )
    return rows_affected(status)


def inventory_event(provider: PrivacyProvider, source: str) -> Envelope:
    categories = [asdict(c) for c in provider.inventory()]
    return Envelope(
        type=INVENTORY_PUBLISHED,
        source=source,
        data={"store": provider.store, "categories": categories},
    )


async def publish_inventory(conn: asyncpg.Connection, provider: PrivacyProvider, source: str) -> None:
    await emit(conn, Topic.INVENTORY, inventory_event(provider, source), key=provider.store)


def privacy_subscriptions(provider: PrivacyProvider, source: str) -> list[Subscription]:
    """The consumer side of the contract: erasure requests and restrictions."""

    async def on_erasure_requested(conn: asyncpg.Connection, event: Envelope) -> None:
        if provider.store not in event.data.get("stores", []):
            return
        scope = ErasureScope.model_validate(event.data["scope"])
        counts = await provider.erase(conn, scope)
        if scope.kind == "subject" and scope.subject_id:
            await forget_subject_events(conn, scope.subject_id)
        await forget_answers(conn, kind=scope.kind, subject_id=scope.subject_id,
                             tenant_id=scope.tenant_id)
        await emit(
            conn,
            Topic.ERASURE,
            Envelope(
                type=ERASURE_COMPLETED,
                source=source,
                tenant_id=event.tenant_id,
                correlation_id=event.correlation_id or str(event.id),
                data={
                    "job_id": event.data["job_id"],
                    "store": provider.store,
                    "counts": counts,
                    "erased": sum(counts.values()),
                },
            ),
            key=event.data["job_id"],
        )

    async def on_restricted(conn: asyncpg.Connection, event: Envelope) -> None:
        if event.subject_id:
            await provider.restrict(conn, event.subject_id)

    async def on_lifted(conn: asyncpg.Connection, event: Envelope) -> None:
        if event.subject_id:
            await provider.lift(conn, event.subject_id)

    return [
        Subscription(Topic.ERASURE, {ERASURE_REQUESTED: on_erasure_requested}),
        Subscription(
            Topic.SUBJECT, {SUBJECT_RESTRICTED: on_restricted, SUBJECT_RESTRICTION_LIFTED: on_lifted}
        ),
    ]


def internal_router(provider: PrivacyProvider) -> APIRouter:
    """Endpoints other services call, never routed by the gateway."""
    router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)
    staff = Depends(require_roles("dpo", "operator", "service"))

    @router.get("/subjects/{subject_id}/export", dependencies=[staff])
    async def export_subject(subject_id: str, request: Request) -> dict[str, Any]:
        async with request.app.state.pool.acquire() as conn:
            data = await provider.export(conn, subject_id)
        return {"store": provider.store, "subject_id": subject_id, "data": data}

    @router.get("/inventory", dependencies=[staff])
    async def inventory() -> dict[str, Any]:
        return {"store": provider.store, "categories": [asdict(c) for c in provider.inventory()]}

    return router
