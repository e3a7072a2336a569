"""Purposes and policy versions: keyword-only functions on the caller's connection."""

from __future__ import annotations

from typing import Any

import asyncpg

from consent import events
from consent.announcements.service import plan as plan_announcement
from consent.catalogue.models import PolicyCreate, PolicyRead, PurposeCreate, PurposeRead
from privacy_kit.errors import ApiError
from privacy_kit.protocol import PolicyPublished

PURPOSE_COLUMNS = """id, name, description, legal_basis, cookie_category, vendors,
    direct_marketing, gpc_refusal, default_granted, created_at, retired_at"""

# The version in force today: the latest published one whose effective date has come.
CURRENT_POLICY_SQL = """
    SELECT version FROM policy_version WHERE effective_date <= current_date
    ORDER BY seq DESC LIMIT 1"""


def _purpose(row: asyncpg.Record) -> PurposeRead:
    return PurposeRead(**dict(row))


async def list_purposes(*, conn: asyncpg.Connection, include_retired: bool) -> list[PurposeRead]:
    rows = await conn.fetch(
        f"SELECT {PURPOSE_COLUMNS} FROM purpose WHERE $1 OR retired_at IS NULL ORDER BY id",
        include_retired,
    )
    return [_purpose(r) for r in rows]


async def get_purpose(*, conn: asyncpg.Connection, purpose_id: str) -> PurposeRead:
    row = await conn.fetchrow(f"SELECT {PURPOSE_COLUMNS} FROM purpose WHERE id = $1", purpose_id)
    if row is None:
        raise ApiError(404, "purpose_not_found", f"There is no purpose '{purpose_id}'.")
    return _purpose(row)


async def create_purpose(*, conn: asyncpg.Connection, purpose: PurposeCreate, actor: str) -> PurposeRead:
    if purpose.default_granted and purpose.legal_basis == "consent":
        raise ApiError(
            422, "invalid_purpose",
            "A purpose based on consent cannot be on by default: consent must be given first.",
        )
    if purpose.cookie_category == "strictly_necessary":
        raise ApiError(
            422, "invalid_purpose",
            "Strictly necessary cookies need no consent, so they are not a purpose to choose.",
        )
    row = await conn.fetchrow(
        f"""INSERT INTO purpose (id, name, description, legal_basis, cookie_category, vendors,
                direct_marketing, gpc_refusal, default_granted, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (id) DO NOTHING
            RETURNING {PURPOSE_COLUMNS}""",
        purpose.id, purpose.name, purpose.description, purpose.legal_basis,
        purpose.cookie_category, purpose.vendors, purpose.direct_marketing,
        purpose.gpc_refusal, purpose.default_granted, actor,
    )
    if row is None:
        raise ApiError(409, "purpose_exists", f"A purpose '{purpose.id}' exists already.")
    return _purpose(row)


async def retire_purpose(*, conn: asyncpg.Connection, purpose_id: str, actor: str) -> PurposeRead:
    await get_purpose(conn=conn, purpose_id=purpose_id)
    row = await conn.fetchrow(
        f"""UPDATE purpose SET retired_at = coalesce(retired_at, now()),
                retired_by = coalesce(retired_by, $2)
            WHERE id = $1 RETURNING {PURPOSE_COLUMNS}""",
        purpose_id, actor,
    )
    assert row is not None
    return _purpose(row)


async def current_policy_version(*, conn: asyncpg.Connection) -> str:
    version = await conn.fetchval(CURRENT_POLICY_SQL)
    if version is None:
        raise ApiError(409, "no_policy_in_force", "No policy version is in force yet.")
    return str(version)


def _policy(row: asyncpg.Record, current: str | None) -> PolicyRead:
    data: dict[str, Any] = dict(row)
    data["materially_changed_purposes"] = data.pop("material_purposes")
    data.pop("seq", None)
    return PolicyRead(**data, current=data["version"] == current)


async def list_policies(*, conn: asyncpg.Connection) -> list[PolicyRead]:
    rows = await conn.fetch(
        f"""SELECT seq, version, effective_date, changelog, url, material_purposes, announce,
                   published_at, ({CURRENT_POLICY_SQL}) AS in_force
            FROM policy_version ORDER BY seq DESC"""
    )
    current = rows[0]["in_force"] if rows else None
    return [_policy(_without(r, "in_force"), current) for r in rows]


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
        raise ApiError(404, "policy_not_found", f"There is no policy version '{version}'.")
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
