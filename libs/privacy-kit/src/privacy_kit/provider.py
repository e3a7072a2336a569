"""The privacy-provider contract and the plumbing that makes a service take part in it.

A service that stores personal data implements `PrivacyProvider`; the kit then consumes
erasure requests for it, erases in one transaction, acknowledges with counts through the
outbox, publishes its inventory at start-up and serves an internal export endpoint.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, NamedTuple

import asyncpg
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from privacy_kit.access_log import (
    forget_subject_reads,
    forget_tenant_reads,
    log_read,
    route_of,
    subject_reads,
)
from privacy_kit.auth import current_principal, require_roles
from privacy_kit.consumer import Subscription, on, subscribe
from privacy_kit.dead_letters import forget_dead_letters
from privacy_kit.guards import forget_subject_findings, forget_tenant_findings, subject_findings
from privacy_kit.holds import drop_hold, keep_hold
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
    LegalHoldPlaced,
    LegalHoldReleased,
    RetentionCounted,
    RetentionCountRequested,
    SubjectObjected,
    SubjectRestricted,
    SubjectRestrictionConfirmed,
    SubjectRestrictionLifted,
)

log = logging.getLogger(__name__)

Cause = Literal["restricted", "objected", "lifted"]

__all__ = ["DataCategory", "ErasureScope", "PrivacyProvider", "TenantRecord", "internal_router",
           "privacy_subscriptions", "publish_inventory"]


class _DryRun(Exception):
    """Rolls a counting savepoint back."""


class TenantRecord(NamedTuple):
    """One record of a tenant's export: its category (as in the inventory), the table (or
    kind of record) it comes from, and the record as a mapping or as JSON text of an object
    (e.g. PostgreSQL's `row_to_json(t)::text`, which saves converting every value in Python)."""

    category: str
    table: str
    record: Mapping[str, Any] | str


class PrivacyProvider(ABC):
    """What every store of personal data implements."""

    store: str
    # O3: the kit exports and erases the store's access-log rows of a person; a store that
    # keeps its reads as one of its own categories (retention rule, holds) sets this to True
    # and exports and erases them itself.
    own_access_log: bool = False

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

    async def export_tenant(
        self, conn: asyncpg.Connection, tenant_id: str
    ) -> AsyncIterator[TenantRecord]:
        """Every record of a tenant, category by category and table by table within a category
        (O18: the copy handed over when a client's contract ends). Runs inside one read-only
        repeatable-read transaction; stream with `conn.cursor(...)` rather than fetching all.
        A store that holds nothing per tenant yields nothing."""
        return
        yield  # an async generator

    async def restrict(self, conn: asyncpg.Connection, subject_id: str) -> None:  # noqa: B027
        """Stop all processing but storage. Stores without processing need nothing."""

    async def lift(self, conn: asyncpg.Connection, subject_id: str) -> None:  # noqa: B027
        """Resume processing after a restriction."""

    async def object_to_processing(self, conn: asyncpg.Connection, subject_id: str) -> None:
        """An objection (Art. 21) restricts processing until the controller has assessed it
        (Art. 18(1)(d)); lifting the restriction ends it."""
        await self.restrict(conn, subject_id)


async def _forget_reads(conn: asyncpg.Connection, scope: ErasureScope) -> int:
    if scope.kind == "subject" and scope.subject_id:
        return await forget_subject_reads(conn, scope.subject_id)
    if scope.kind == "tenant" and scope.tenant_id:
        return await forget_tenant_reads(conn, scope.tenant_id,
                                         keep_subjects=scope.held_subject_ids)
    return 0


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
            await forget_subject_findings(conn, scope.subject_id)
        elif scope.kind == "tenant" and scope.tenant_id:
            held_people = scope.held_subject_ids
            await forget_tenant_events(conn, scope.tenant_id, keep_subjects=held_people)
            messages = await forget_tenant_messages(conn, scope.tenant_id,
                                                    keep_subjects=held_people)
            await forget_tenant_findings(conn, scope.tenant_id, keep_subjects=held_people)
        else:
            messages = 0
        if messages:
            counts = {**counts, "messages": messages}
        reads = 0 if provider.own_access_log else await _forget_reads(conn, scope)
        if reads:
            counts = {**counts, "access_log": counts.get("access_log", 0) + reads}
        # O25: dead letters naming the subject (or tenant) go with them.
        dead = await forget_dead_letters(
            conn, subject_id=scope.subject_id if scope.kind == "subject" else None,
            tenant_id=scope.tenant_id if scope.kind == "tenant" else None,
            keep_subjects=scope.held_subject_ids)
        if dead:
            counts = {**counts, "dead_letters": dead}
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

    async def confirm(conn: asyncpg.Connection, event: Event[Any], cause: Cause) -> None:
        # In the handler's transaction: the confirmation exists exactly when the effect does.
        await emit(
            conn,
            SubjectRestrictionConfirmed(store=provider.store, cause=cause,
                                        restricted=cause != "lifted"),
            source=source, subject_id=event.subject(), tenant_id=event.tenant_id,
            correlation_id=event.correlation_id or str(event.id),
        )

    async def on_restricted(conn: asyncpg.Connection, event: Event[SubjectRestricted]) -> None:
        await provider.restrict(conn, event.subject())
        await confirm(conn, event, "restricted")

    async def on_objected(conn: asyncpg.Connection, event: Event[SubjectObjected]) -> None:
        await provider.object_to_processing(conn, event.subject())
        await confirm(conn, event, "objected")

    async def on_lifted(conn: asyncpg.Connection, event: Event[SubjectRestrictionLifted]) -> None:
        await provider.lift(conn, event.subject())
        await confirm(conn, event, "lifted")

    async def on_hold_placed(conn: asyncpg.Connection, event: Event[LegalHoldPlaced]) -> None:
        await keep_hold(conn, hold_id=event.payload.hold_id, subject_id=event.subject_id,
                        tenant_id=event.tenant_id, category=event.payload.category,
                        ground=event.payload.ground, placed_at=event.occurred_at)

    async def on_hold_released(conn: asyncpg.Connection, event: Event[LegalHoldReleased]) -> None:
        await drop_hold(conn, hold_id=event.payload.hold_id)

    return subscribe(
        on(ErasureRequested, on_erasure_requested),
        on(LegalHoldPlaced, on_hold_placed),
        on(LegalHoldReleased, on_hold_released),
        on(RetentionCountRequested, on_count_requested),
        on(SubjectRestricted, on_restricted),
        on(SubjectObjected, on_objected),
        on(SubjectRestrictionLifted, on_lifted),
    )


def _json_default(value: Any) -> Any:
    """What FastAPI's encoder would make of the types exports hold."""
    if isinstance(value, datetime | date | dt_time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return str(value)  # uuid.UUID and anything else with a text form


def internal_router(provider: PrivacyProvider) -> APIRouter:
    """Endpoints other services call with a service token, never routed by the gateway."""
    router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)
    service = Depends(require_roles("service"))

    @router.get("/subjects/{subject_id}/export", dependencies=[service])
    async def export_subject(subject_id: str, request: Request) -> Response:
        async with request.app.state.pool.acquire() as conn:
            data = await provider.export(conn, subject_id)
            messages = await subject_messages(conn, subject_id)
            reads = [] if provider.own_access_log else await subject_reads(conn, subject_id)
            findings = await subject_findings(conn, subject_id)
            await log_read(conn, principal=current_principal(request), route=route_of(request),
                           purpose="internal export for a data subject request",
                           subjects=[subject_id], what="everything held on the person")
        if messages:
            data = {**data, "messages_sent_to_you": messages}
        if findings:
            data = {**data, "special_category_findings": findings}
        if reads:  # O3: who read this person's data here (the access bundle lists them)
            data = {**data, "access_log": {"purpose": "who read your data here, why and when",
                                           "records": reads}}
        # Serialised directly: FastAPI's generic encoder takes ~10x as long on thousands of
        # rows, and this is what an access bundle waits for (bench/subject_rights_bench.py).
        body = {"store": provider.store, "subject_id": subject_id, "data": data}
        return Response(json.dumps(body, default=_json_default, separators=(",", ":")),
                        media_type="application/json")

    @router.get("/tenants/{tenant_id}/export", dependencies=[service])
    async def export_tenant(tenant_id: str, request: Request) -> StreamingResponse:
        """JSON lines: a header, one line per record, and a trailer with the count; a stream
        without its trailer was cut off and must not be taken as complete."""
        pool = request.app.state.pool
        async with pool.acquire() as conn:
            await log_read(conn, principal=current_principal(request), route=route_of(request),
                           purpose="internal export of a client's data (contract end)",
                           tenant_id=tenant_id, what="every record of the client")
        return StreamingResponse(_tenant_lines(provider, pool, tenant_id),
                                 media_type="application/x-ndjson")

    @router.get("/inventory", dependencies=[service])
    async def inventory() -> dict[str, Any]:
        return inventory_payload(provider).model_dump(mode="json")

    return router


async def _tenant_lines(
    provider: PrivacyProvider, pool: asyncpg.Pool, tenant_id: str
) -> AsyncIterator[bytes]:
    head = {"store": provider.store, "tenant_id": tenant_id, "format": 1}
    yield (json.dumps(head) + "\n").encode()
    count = 0
    batch: list[str] = []
    prefixes: dict[tuple[str, str], str] = {}
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                        readonly=True):
        async for item in provider.export_tenant(conn, tenant_id):
            record = (item.record if isinstance(item.record, str)
                      else json.dumps(dict(item.record), default=_json_default))
            prefix = prefixes.get((item.category, item.table))
            if prefix is None:
                prefix = prefixes[(item.category, item.table)] = (
                    f'{{"category":{json.dumps(item.category)},'
                    f'"table":{json.dumps(item.table)},"record":')
            batch.append(f"{prefix}{record}}}\n")
            count += 1
            if len(batch) >= 1000:
                yield "".join(batch).encode()
                batch.clear()
    batch.append(json.dumps({"end": True, "records": count}) + "\n")
    yield "".join(batch).encode()
