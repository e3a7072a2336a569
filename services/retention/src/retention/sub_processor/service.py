"""The sub-processor register (O7): who processes for the platform, where, and on which basis
data leaves the EEA. Every addition, change and removal is dated and announced as
`subprocessor.changed`, so that client organisations can be told."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from privacy_kit.outbox import emit
from privacy_kit.protocol import SubProcessorChanged
from retention.i18n import tr
from retention.sub_processor.models import (
    ADEQUATE,
    EEA,
    SubProcessorChangeRead,
    SubProcessorCreate,
    SubProcessorRead,
    SubProcessorUpdate,
)


class Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(Exception):
    pass


def check_transfer(name: str, location: str, basis: str | None) -> None:
    """Data leaves the EEA only on a basis of GDPR Chapter V (O7)."""
    if location in EEA:
        if basis is not None:
            raise Refused(tr("{location} is inside the EEA: no transfer basis is needed for "
                             "{name}; leave transfer_basis out.", location=location, name=name))
        return
    if basis is None:
        raise Refused(tr(
            "{name} processes in {location}, outside the EEA: name the transfer basis "
            "(adequacy_decision, standard_contractual_clauses or binding_corporate_rules, "
            "GDPR Art. 45-47), or choose a sub-processor inside the EEA.",
            name=name, location=location))
    if basis == "adequacy_decision" and location not in ADEQUATE:
        raise Refused(tr("The European Commission has no adequacy decision for {location}: "
                         "use standard_contractual_clauses or binding_corporate_rules.",
                         location=location))


def _state(row: asyncpg.Record) -> dict[str, Any]:
    return {k: row[k] for k in ("name", "service", "location", "in_eea", "transfer_basis")}


async def _changed(conn: asyncpg.Connection, row: asyncpg.Record, change: str, actor: str,
                   source: str) -> None:
    at: datetime = row["removed_at"] if change == "removed" else row["changed_at"]
    await conn.execute(
        """INSERT INTO sub_processor_change (sub_processor_id, change, state, changed_by,
                                             changed_at) VALUES ($1, $2, $3::jsonb, $4, $5)""",
        row["id"], change, json.dumps(_state(row)), actor, at)
    await emit(conn, SubProcessorChanged(
        sub_processor_id=row["id"], change=change, location=row["location"],
        in_eea=row["in_eea"], transfer_basis=row["transfer_basis"], effective_at=at),
        source=source, key=str(row["id"]))


async def add(*, conn: asyncpg.Connection, body: SubProcessorCreate, actor: str,
              source: str) -> SubProcessorRead:
    check_transfer(body.name, body.location, body.transfer_basis)
    row = await conn.fetchrow(
        """INSERT INTO sub_processor (id, name, service, location, in_eea, transfer_basis,
                                      added_by, changed_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING *""",
        uuid.uuid4(), body.name, body.service, body.location, body.location in EEA,
        body.transfer_basis, actor)
    await _changed(conn, row, "added", actor, source)
    return SubProcessorRead.model_validate(dict(row))


async def change(*, conn: asyncpg.Connection, sub_processor_id: uuid.UUID,
                 body: SubProcessorUpdate, actor: str, source: str) -> SubProcessorRead:
    current = await conn.fetchrow(
        "SELECT * FROM sub_processor WHERE id = $1 AND removed_at IS NULL FOR UPDATE",
        sub_processor_id)
    if current is None:
        raise NotFound
    updates = body.model_dump(exclude_unset=True)
    merged = {**_state(current), **updates}
    if "location" in updates and "transfer_basis" not in updates and merged["location"] in EEA:
        merged["transfer_basis"] = None  # moved into the EEA: no transfer any more
    check_transfer(merged["name"], merged["location"], merged["transfer_basis"])
    row = await conn.fetchrow(
        """UPDATE sub_processor SET name = $2, service = $3, location = $4, in_eea = $5,
               transfer_basis = $6, changed_by = $7, changed_at = now()
           WHERE id = $1 RETURNING *""",
        sub_processor_id, merged["name"], merged["service"], merged["location"],
        merged["location"] in EEA, merged["transfer_basis"], actor)
    await _changed(conn, row, "changed", actor, source)
    return SubProcessorRead.model_validate(dict(row))


async def remove(*, conn: asyncpg.Connection, sub_processor_id: uuid.UUID, actor: str,
                 source: str) -> SubProcessorRead:
    row = await conn.fetchrow(
        """UPDATE sub_processor SET removed_by = $2, removed_at = now()
           WHERE id = $1 AND removed_at IS NULL RETURNING *""", sub_processor_id, actor)
    if row is None:
        raise NotFound
    await _changed(conn, row, "removed", actor, source)
    return SubProcessorRead.model_validate(dict(row))


async def get(*, conn: asyncpg.Connection, sub_processor_id: uuid.UUID) -> SubProcessorRead:
    row = await conn.fetchrow("SELECT * FROM sub_processor WHERE id = $1", sub_processor_id)
    if row is None:
        raise NotFound
    changes = await conn.fetch(
        """SELECT change, state, changed_by, changed_at FROM sub_processor_change
           WHERE sub_processor_id = $1 ORDER BY id""", sub_processor_id)
    return SubProcessorRead.model_validate({**dict(row), "changes": [
        SubProcessorChangeRead(change=c["change"], state=json.loads(c["state"]),
                               changed_by=c["changed_by"], changed_at=c["changed_at"])
        for c in changes]})


async def list_all(*, conn: asyncpg.Connection, include_removed: bool = False,
                   after: tuple[datetime, uuid.UUID] | None = None,
                   limit: int = 200) -> list[SubProcessorRead]:
    rows = await conn.fetch(
        """SELECT * FROM sub_processor WHERE ($1 OR removed_at IS NULL)
           AND ($2::timestamptz IS NULL OR (added_at, id) < ($2, $3::uuid))
           ORDER BY added_at DESC, id DESC LIMIT $4""",
        include_removed, after[0] if after else None, after[1] if after else None, limit)
    return [SubProcessorRead.model_validate(dict(r)) for r in rows]
