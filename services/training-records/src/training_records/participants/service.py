"""People of a tenant: participants and Beheerders. Business rules; the caller owns the transaction."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any, Literal

import asyncpg

from privacy_kit.errors import ApiError
from privacy_kit.paging import PageParams
from privacy_kit.preconditions import entity_tag
from privacy_kit.sorting import Ordering, SortOrder
from training_records.access import not_found, restricted_write
from training_records.participants.models import (
    BeheerderCreate,
    BeheerderRead,
    ParticipantCreate,
    ParticipantRead,
    ParticipantUpdate,
    Rectification,
)

JSON_FIELDS = ("address", "education", "work_history", "preferences", "parental_consent")
PROFILE_FIELDS = (
    "name", "email", "birth_date", "address", "phone", "company", "education", "work_history",
    "preferences", "parental_consent",
)
_COLUMNS = (
    "id, tenant_id, restricted_at, closed_at, created_at, updated_at, "
    + ", ".join(PROFILE_FIELDS)
)
MINIMUM_AGE = 16


def age_on(birth_date: date, today: date) -> int:
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def is_child_without_consent(birth_date: date | None, parental_consent: Any) -> bool:
    if birth_date is None:
        return False
    return age_on(birth_date, date.today()) < MINIMUM_AGE and not parental_consent


def under_16_refusal() -> ApiError:
    return ApiError(
        422,
        "under_16_without_parental_consent",
        "The participant is under 16: they can only be registered with verified parental "
        "consent. Record it in 'parental_consent' (method, verified_at).",
        details=[{"field": "birth_date", "message": "under 16 without parental consent"}],
    )


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def status_of(row: Any) -> Literal["active", "closed", "restricted"]:
    if row["restricted_at"] is not None:
        return "restricted"
    return "closed" if row.get("closed_at") is not None else "active"


def to_read(row: asyncpg.Record, *, hide: bool = False, summary: bool = False) -> ParticipantRead:
    """`hide`: the reader is a Beheerder (restricted people show as id only); `summary`: a
    Beheerder outside the person's scope (O2) sees name and status, never the profile."""
    restricted = row["restricted_at"] is not None
    if hide and restricted:
        return ParticipantRead(id=row["id"], tenant_id=row["tenant_id"], restricted=True,
                               status="restricted", view="restricted")
    if summary:
        return ParticipantRead(id=row["id"], tenant_id=row["tenant_id"], name=row["name"],
                               status=status_of(row), view="summary")
    values = {k: _load(row[k]) if k in JSON_FIELDS else row[k] for k in PROFILE_FIELDS}
    return ParticipantRead(
        id=row["id"], tenant_id=row["tenant_id"], restricted=restricted,
        created_at=row["created_at"], updated_at=row["updated_at"], status=status_of(row),
        **values,
    )


def etag(row: Any) -> str:
    """The version of a participant: any rectification or restriction changes it."""
    return entity_tag(row["id"], row["updated_at"], row["restricted_at"])


def profile_values(body: ParticipantCreate | ParticipantUpdate, fields: set[str]) -> dict[str, Any]:
    dumped = body.model_dump(mode="json", include=fields)
    return {
        k: (_dump(v) if k in JSON_FIELDS else getattr(body, k)) for k, v in dumped.items()
    }


async def create(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, body: ParticipantCreate, created_by: str
) -> ParticipantRead:
    values = profile_values(body, set(PROFILE_FIELDS))
    columns = ["id", "tenant_id", "kind", "created_by", *values]
    params = [uuid.uuid4(), tenant_id, "participant", created_by, *values.values()]
    placeholders = ", ".join(
        f"${i}::jsonb" if c in JSON_FIELDS else f"${i}" for i, c in enumerate(columns, start=1)
    )
    try:
        row = await conn.fetchrow(
            f"INSERT INTO person ({', '.join(columns)}) VALUES ({placeholders}) "
            f"RETURNING {_COLUMNS}",
            *params,
        )
    except asyncpg.UniqueViolationError as exc:
        raise email_taken() from exc
    return to_read(row)


async def current_etag(*, conn: asyncpg.Connection, participant_id: uuid.UUID) -> str:
    row = await conn.fetchrow(
        "SELECT id, updated_at, restricted_at FROM person WHERE id = $1", participant_id)
    return etag(row)


def email_taken() -> ApiError:
    return ApiError(
        409, "email_taken", "A participant with this e-mail address already exists in this tenant."
    )


async def get_row(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, participant_id: uuid.UUID,
    for_update: bool = False,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""SELECT {_COLUMNS} FROM person
            WHERE id = $1 AND tenant_id = $2 AND kind = 'participant'
            {"FOR UPDATE" if for_update else ""}""",
        participant_id, tenant_id,
    )
    if row is None:
        raise not_found("participant in this tenant")
    return row


async def ensure_writable(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, participant_id: uuid.UUID
) -> asyncpg.Record:
    """The participant, locked for the write; 409 while their processing is restricted."""
    row = await get_row(conn=conn, tenant_id=tenant_id, participant_id=participant_id,
                        for_update=True)
    if row["restricted_at"] is not None:
        raise restricted_write()
    return row


PARTICIPANT_ORDERING = Ordering(
    {"created_at": ("created_at", "timestamptz"), "name": ("name", "text")},
    tiebreak=("id", "uuid"), default="created_at",
)
BEHEERDER_ORDERING = PARTICIPANT_ORDERING


async def list_page(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, page: PageParams, sort: SortOrder,
    restricted: bool | None = None,
) -> list[asyncpg.Record]:
    """Up to `page.limit + 1` participants after the cursor."""
    where, order_by, args = sort.keyset(page, first_param=3)
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM person WHERE tenant_id = $1 AND kind = 'participant'
              AND ($2::boolean IS NULL OR (restricted_at IS NOT NULL) = $2) AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""",
        tenant_id, restricted, *args,
    )
    return list(rows)


async def rectify(
    *, conn: asyncpg.Connection, row: asyncpg.Record, body: ParticipantUpdate, actor: str
) -> tuple[ParticipantRead, list[str]]:
    """Apply the sent fields that differ, keeping each old and new value in the history."""
    current = to_read(row).model_dump(mode="json")
    sent = body.model_dump(mode="json", include=body.model_fields_set)
    changed = [f for f in PROFILE_FIELDS if f in sent and sent[f] != current.get(f)]
    if not changed:
        return to_read(row), []
    values = profile_values(body, set(changed))
    sets = ", ".join(
        f"{name} = ${i}::jsonb" if name in JSON_FIELDS else f"{name} = ${i}"
        for i, name in enumerate(values, start=2)
    )
    try:
        updated = await conn.fetchrow(
            f"UPDATE person SET {sets}, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
            row["id"], *values.values(),
        )
    except asyncpg.UniqueViolationError as exc:
        raise email_taken() from exc
    await conn.executemany(
        """INSERT INTO person_rectification (person_id, tenant_id, field, old_value, new_value,
                                             changed_by)
           VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)""",
        [(row["id"], row["tenant_id"], f, json.dumps(current.get(f)), json.dumps(sent[f]), actor)
         for f in changed],
    )
    return to_read(updated), changed


# Lists of one person's history, oldest first, by their serial id.
HISTORY_ORDERING = Ordering({"id": ("id", "bigint")}, tiebreak=("id", "bigint"), default="id")


async def history(
    *, conn: asyncpg.Connection, person_id: uuid.UUID, page: PageParams, sort: SortOrder
) -> list[Rectification]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT id, field, old_value, new_value, changed_by, changed_at
            FROM person_rectification WHERE person_id = $1 AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""",
        person_id, *args,
    )
    return [
        Rectification(id=r["id"], field=r["field"], old_value=_load(r["old_value"]),
                      new_value=_load(r["new_value"]), changed_by=r["changed_by"],
                      changed_at=r["changed_at"])
        for r in rows
    ]


async def set_restriction(
    *, conn: asyncpg.Connection, person_id: uuid.UUID, restricted: bool, actor: str
) -> asyncpg.Record | None:
    if restricted:
        return await conn.fetchrow(
            """UPDATE person SET restricted_at = coalesce(restricted_at, now()),
                                 restricted_by = coalesce(restricted_by, $2)
               WHERE id = $1 RETURNING id, restricted_at""",
            person_id, actor,
        )
    return await conn.fetchrow(
        """UPDATE person SET restricted_at = NULL, restricted_by = NULL
           WHERE id = $1 RETURNING id, restricted_at""",
        person_id,
    )


async def create_beheerder(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, body: BeheerderCreate, created_by: str
) -> BeheerderRead:
    try:
        row = await conn.fetchrow(
            """INSERT INTO person (id, tenant_id, kind, name, email, phone, created_by, team)
               VALUES ($1, $2, 'beheerder', $3, $4, $5, $6, $7)
               RETURNING id, tenant_id, name, email, phone, created_at, team""",
            uuid.uuid4(), tenant_id, body.name, body.email, body.phone, created_by, body.team,
        )
    except asyncpg.UniqueViolationError as exc:
        raise ApiError(409, "email_taken", "A Beheerder with this e-mail already exists.") from exc
    return BeheerderRead(**dict(row))


async def list_beheerders(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, page: PageParams, sort: SortOrder
) -> list[BeheerderRead]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT id, tenant_id, name, email, phone, created_at, team FROM person
            WHERE tenant_id = $1 AND kind = 'beheerder' AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""",
        tenant_id, *args,
    )
    return [BeheerderRead(**dict(r)) for r in rows]


async def close_account(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, participant_id: uuid.UUID
) -> datetime:
    """Close the account (once): training history lives while it exists, then a retention
    sweep anonymises it and erases the rest (O15, O16)."""
    await get_row(conn=conn, tenant_id=tenant_id, participant_id=participant_id, for_update=True)
    closed_at: datetime = await conn.fetchval(
        """UPDATE person SET closed_at = coalesce(closed_at, now()), updated_at = now()
           WHERE id = $1 RETURNING closed_at""", participant_id)
    return closed_at
