"""Purposes and policy versions: keyword-only functions on the caller's connection."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from consent import events
from consent.announcements.service import plan as plan_announcement
from consent.catalogue.models import (
    PolicyCreate,
    PolicyRead,
    PurposeCreate,
    PurposeRead,
    PurposeText,
    PurposeUpdate,
)
from consent.i18n import tr
from privacy_kit.errors import ApiError
from privacy_kit.i18n import Language
from privacy_kit.paging import PageParams
from privacy_kit.preconditions import check_if_match, entity_tag
from privacy_kit.protocol import PolicyPublished
from privacy_kit.sorting import Ordering, SortOrder

PURPOSE_COLUMNS = """id, name, description, legal_basis, cookie_category, vendors,
    direct_marketing, gpc_refusal, default_granted, created_at, updated_at, retired_at,
    translations"""
PURPOSE_ORDERING = Ordering(
    {"id": ("id", "text"), "created_at": ("created_at", "timestamptz")},
    tiebreak=("id", "text"), default="id",
)
POLICY_ORDERING = Ordering(
    {"published": ("seq", "bigint")}, tiebreak=("seq", "bigint"), default="-published",
    keys={"published": "seq"}, tiebreak_key="seq",
)

# The version in force today: the latest published one whose effective date has come.
CURRENT_POLICY_SQL = """
    SELECT version FROM policy_version WHERE effective_date <= current_date
    ORDER BY seq DESC LIMIT 1"""


def texts(row: Any) -> dict[str, PurposeText]:
    raw = row["translations"]
    stored = json.loads(raw) if isinstance(raw, str) else (raw or {})
    return {lang: PurposeText(**text) for lang, text in stored.items()}


def text_in(row: Any, language: Language) -> PurposeText:
    """The purpose's wording in `language`, else as first written."""
    return texts(row).get(language) or PurposeText(name=row["name"],
                                                   description=row["description"])


def _purpose(row: asyncpg.Record, language: Language) -> PurposeRead:
    data = {k: v for k, v in dict(row).items() if k != "translations"}
    text = text_in(row, language)
    return PurposeRead(**{**data, "name": text.name, "description": text.description},
                       language=language, translations=texts(row))


def purpose_etag(purpose: PurposeRead) -> str:
    return entity_tag(purpose.id, purpose.updated_at)


def not_found(purpose_id: str) -> ApiError:
    return ApiError(404, "purpose_not_found",
                    tr("There is no purpose '{purpose}'.", purpose=purpose_id))


async def list_purposes(
    *, conn: asyncpg.Connection, include_retired: bool, page: PageParams, sort: SortOrder,
    language: Language,
) -> list[PurposeRead]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT {PURPOSE_COLUMNS} FROM purpose WHERE ($1 OR retired_at IS NULL) AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""",
        include_retired, *args,
    )
    return [_purpose(r, language) for r in rows]


async def get_purpose(
    *, conn: asyncpg.Connection, purpose_id: str, language: Language = "en",
    for_update: bool = False,
) -> PurposeRead:
    row = await conn.fetchrow(
        f"SELECT {PURPOSE_COLUMNS} FROM purpose WHERE id = $1"
        f"{' FOR UPDATE' if for_update else ''}", purpose_id)
    if row is None:
        raise not_found(purpose_id)
    return _purpose(row, language)


async def create_purpose(
    *, conn: asyncpg.Connection, purpose: PurposeCreate, actor: str, language: Language = "en",
) -> PurposeRead:
    if purpose.default_granted and purpose.legal_basis == "consent":
        raise ApiError(
            422, "invalid_purpose",
            tr("A purpose based on consent cannot be on by default: consent must be given "
               "first."),
        )
    if purpose.cookie_category == "strictly_necessary":
        raise ApiError(
            422, "invalid_purpose",
            tr("Strictly necessary cookies need no consent, so they are not a purpose to "
               "choose."),
        )
    row = await conn.fetchrow(
        f"""INSERT INTO purpose (id, name, description, legal_basis, cookie_category, vendors,
                direct_marketing, gpc_refusal, default_granted, created_by, translations)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
            ON CONFLICT (id) DO NOTHING
            RETURNING {PURPOSE_COLUMNS}""",
        purpose.id, purpose.name, purpose.description, purpose.legal_basis,
        purpose.cookie_category, purpose.vendors, purpose.direct_marketing,
        purpose.gpc_refusal, purpose.default_granted, actor,
        json.dumps({k: v.model_dump() for k, v in purpose.translations.items()}),
    )
    if row is None:
        raise ApiError(409, "purpose_exists",
                       tr("A purpose '{purpose}' exists already.", purpose=purpose.id))
    return _purpose(row, language)


async def update_purpose(
    *, conn: asyncpg.Connection, purpose_id: str, change: PurposeUpdate, actor: str,
    if_match: str | None, language: Language,
) -> PurposeRead:
    """New wording; the caller's transaction holds the row from the If-Match check on."""
    current = await get_purpose(conn=conn, purpose_id=purpose_id, for_update=True)
    check_if_match(if_match, purpose_etag(current))
    merged = {k: v.model_dump() for k, v in current.translations.items()}
    for lang, text in (change.translations or {}).items():
        merged[lang] = text.model_dump()
    row = await conn.fetchrow(
        f"""UPDATE purpose SET name = coalesce($2, name), description = coalesce($3, description),
                translations = $4::jsonb, updated_at = clock_timestamp(), updated_by = $5
            WHERE id = $1 RETURNING {PURPOSE_COLUMNS}""",
        purpose_id, change.name, change.description, json.dumps(merged), actor,
    )
    assert row is not None
    return _purpose(row, language)


async def retire_purpose(
    *, conn: asyncpg.Connection, purpose_id: str, actor: str, language: Language = "en",
) -> PurposeRead:
    await get_purpose(conn=conn, purpose_id=purpose_id)
    row = await conn.fetchrow(
        f"""UPDATE purpose SET retired_at = coalesce(retired_at, now()),
                retired_by = coalesce(retired_by, $2),
                updated_at = CASE WHEN retired_at IS NULL THEN clock_timestamp()
                             ELSE updated_at END
            WHERE id = $1 RETURNING {PURPOSE_COLUMNS}""",
        purpose_id, actor,
    )
    assert row is not None
    return _purpose(row, language)


async def current_policy_version(*, conn: asyncpg.Connection) -> str:
    return in_force(await conn.fetchval(CURRENT_POLICY_SQL))


def in_force(version: str | None) -> str:
    """The version `CURRENT_POLICY_SQL` found, or 409 when none is in force yet."""
    if version is None:
        raise ApiError(409, "no_policy_in_force", tr("No policy version is in force yet."))
    return str(version)


def _policy(row: asyncpg.Record, current: str | None) -> PolicyRead:
    data: dict[str, Any] = dict(row)
    data["materially_changed_purposes"] = data.pop("material_purposes")
    data.pop("seq", None)
    return PolicyRead(**data, current=data["version"] == current)


async def list_policies(
    *, conn: asyncpg.Connection, page: PageParams, sort: SortOrder
) -> tuple[list[asyncpg.Record], str | None]:
    """Up to `page.limit + 1` rows (with `seq`, for the cursor) and the version in force."""
    where, order_by, args = sort.keyset(page, first_param=1)
    rows = await conn.fetch(
        f"""SELECT seq, version, effective_date, changelog, url, material_purposes, announce,
                   published_at
            FROM policy_version WHERE {where} ORDER BY {order_by} LIMIT {page.limit + 1}""",
        *args,
    )
    return list(rows), await conn.fetchval(CURRENT_POLICY_SQL)


def policy_read(row: asyncpg.Record, current: str | None) -> PolicyRead:
    return _policy(row, current)


def _without(row: asyncpg.Record, key: str) -> Any:
    data = dict(row)
    data.pop(key)
    return data


async def get_policy(*, conn: asyncpg.Connection, version: str) -> PolicyRead:
    row = await conn.fetchrow(
        f"""SELECT version, effective_date, changelog, url, material_purposes, announce,
                   published_at, ({CURRENT_POLICY_SQL}) AS in_force
            FROM policy_version WHERE version = $1""",
        version,
    )
    if row is None:
        raise ApiError(404, "policy_not_found",
                       tr("There is no policy version '{version}'.", version=version))
    return _policy(_without(row, "in_force"), row["in_force"])


async def publish_policy(*, conn: asyncpg.Connection, policy: PolicyCreate, actor: str) -> PolicyRead:
    purposes = sorted(set(policy.materially_changed_purposes))
    if purposes:
        known = {r["id"] for r in await conn.fetch(
            "SELECT id FROM purpose WHERE id = ANY($1::text[])", purposes)}
        unknown = [p for p in purposes if p not in known]
        if unknown:
            raise ApiError(422, "unknown_purpose", f"Unknown purposes: {', '.join(unknown)}.")
    latest = await conn.fetchrow(
        "SELECT version, effective_date FROM policy_version ORDER BY seq DESC LIMIT 1"
    )
    if latest is not None and policy.effective_date < latest["effective_date"]:
        raise ApiError(
            422, "effective_date_before_latest",
            f"The effective date must not be before that of version {latest['version']} "
            f"({latest['effective_date']}).",
        )
    inserted = await conn.fetchval(
        """INSERT INTO policy_version (version, effective_date, changelog, url,
               material_purposes, announce, published_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (version) DO NOTHING
           RETURNING version""",
        policy.version, policy.effective_date, policy.changelog, policy.url, purposes,
        policy.announce, actor,
    )
    if inserted is None:
        raise ApiError(409, "policy_exists", f"Version '{policy.version}' is published already.")
    if policy.announce:  # O14: everyone with consent records is to be told
        await plan_announcement(conn=conn, version=policy.version)
    published = await get_policy(conn=conn, version=policy.version)
    await events.policy_published(conn, PolicyPublished(
        version=published.version, effective_date=published.effective_date,
        materially_changed_purposes=published.materially_changed_purposes,
        announce=published.announce,
    ))
    return published
