"""The ledger's rules: who may act, appending chained records, the effective state."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from consent import events
from consent.catalogue.service import CURRENT_POLICY_SQL, current_policy_version, in_force
from consent.ledger import chain
from consent.ledger.models import (
    Actor,
    ChainProblem,
    ChainVerification,
    ConsentChange,
    ConsentRecordRead,
    ConsentRecordWritten,
    EffectiveConsent,
    ObjectionRead,
    ParentalConsentCreate,
    ParentalConsentRead,
    Renewals,
    Source,
    SubjectConsents,
)
from privacy_kit import guards
from privacy_kit.auth import Principal, forbidden
from privacy_kit.errors import ApiError
from privacy_kit.paging import PageParams
from privacy_kit.sorting import ALL_ROWS, Ordering, SortOrder

# The subject's chain lock, for a select list: `param` is the subject id's placeholder.
CHAIN_LOCK_SQL = "pg_advisory_xact_lock(hashtextextended({param}, 27560)) IS NULL AS chain_locked"

RECORD_COLUMNS = """id, subject_id, chain_index, purpose_id, granted, policy_version, method,
    actor_sub, actor_role, on_behalf, tenant_id, parental_consent_id, gpc, recorded_at,
    prev_hash, hash, seal"""

# One statement, one index range scan: the latest record per purpose joined to the catalogue,
# the active objection, renewal flags and the version in force.
_STATE_SQL = """
WITH latest AS (
    SELECT DISTINCT ON (purpose_id) purpose_id, id, granted, policy_version, method, recorded_at
    FROM consent_record WHERE subject_id = $1{record_filter}
    ORDER BY purpose_id, chain_index DESC
)
SELECT p.id AS purpose, p.direct_marketing, p.gpc_refusal, p.default_granted,
       p.retired_at IS NOT NULL AS retired,
       l.id AS record_id, l.granted, l.policy_version, l.method, l.recorded_at,
       coalesce(l.granted AND EXISTS (
           SELECT 1 FROM policy_version v JOIN policy_version rv ON rv.version = l.policy_version
           WHERE v.seq > rv.seq AND v.effective_date <= current_date
             AND p.id = ANY (v.material_purposes)), false) AS needs_renewal,
       o.id AS obj_id, o.purposes AS obj_purposes, o.actor_sub AS obj_actor_sub,
       o.actor_role AS obj_actor_role, o.created_at AS obj_created_at,
       ({current_policy}) AS current_policy,
       EXISTS (SELECT 1 FROM subject_restriction r WHERE r.subject_id = $1) AS restricted
FROM purpose p
LEFT JOIN latest l ON l.purpose_id = p.id
LEFT JOIN marketing_objection o ON o.subject_id = $1 AND o.lifted_at IS NULL
WHERE (p.retired_at IS NULL OR l.id IS NOT NULL){purpose_filter}
ORDER BY p.id
"""
STATE_SQL = _STATE_SQL.format(current_policy=CURRENT_POLICY_SQL, record_filter="",
                              purpose_filter="")
# The same for one purpose ($2): what a save answers with, without the whole catalogue.
PURPOSE_STATE_SQL = _STATE_SQL.format(current_policy=CURRENT_POLICY_SQL,
                                      record_filter=" AND purpose_id = $2",
                                      purpose_filter=" AND p.id = $2")


def acting_as(principal: Principal, subject_id: str) -> Actor:
    """The person themself, or staff on their behalf; a Beheerder never (O1: the tenant decides
    over training data, not over a participant's consent)."""
    if principal.sub == subject_id:
        role = next((r for r in ("participant", "beheerder", "dpo", "operator")
                     if r in principal.roles), "subject")
        return Actor(sub=principal.sub, role=role, on_behalf=False)
    if principal.is_staff:
        role = "dpo" if "dpo" in principal.roles else "operator"
        return Actor(sub=principal.sub, role=role, on_behalf=True)
    if principal.has("beheerder"):
        raise forbidden("A Beheerder may not change a participant's consent; only the participant "
                        "or platform staff on their behalf can.")
    raise forbidden("You can only change your own consents.")


def record_read(row: Mapping[str, Any]) -> ConsentRecordRead:
    return ConsentRecordRead(
        id=row["id"], subject_id=row["subject_id"], purpose=row["purpose_id"],
        granted=row["granted"], policy_version=row["policy_version"], method=row["method"],
        actor=Actor(sub=row["actor_sub"], role=row["actor_role"], on_behalf=row["on_behalf"]),
        tenant_id=row["tenant_id"], parental_consent_id=row["parental_consent_id"],
        gpc=row["gpc"], recorded_at=row["recorded_at"], chain_index=row["chain_index"],
        prev_hash=row["prev_hash"], hash=row["hash"],
    )


def _objection_read(row: Mapping[str, Any], prefix: str = "") -> ObjectionRead:
    subject_id = row["subject_id"]
    actor_sub = row[f"{prefix}actor_sub"]
    return ObjectionRead(
        id=row[f"{prefix}id"], subject_id=subject_id, purposes=row[f"{prefix}purposes"],
        actor=Actor(sub=actor_sub, role=row[f"{prefix}actor_role"],
                    on_behalf=actor_sub != subject_id),
        created_at=row[f"{prefix}created_at"],
        lifted_at=row.get(f"{prefix}lifted_at"), lifted_by=row.get(f"{prefix}lifted_by"),
    )


def _effective(row: Mapping[str, Any], *, gpc: bool) -> EffectiveConsent:
    objected = (
        row["obj_id"] is not None and row["direct_marketing"]
        and (row["obj_purposes"] is None or row["purpose"] in row["obj_purposes"])
    )
    has_record = row["record_id"] is not None
    source: Source
    if row["retired"]:
        granted, source = False, "retired"
    elif row["restricted"]:
        granted, source = False, "restricted"
    elif objected:
        granted, source = False, "objection"
    elif gpc and row["gpc_refusal"]:
        granted, source = False, "gpc"
    elif has_record:
        granted, source = bool(row["granted"]), "record"
    else:
        granted, source = bool(row["default_granted"]), "default"
    return EffectiveConsent(
        purpose=row["purpose"], granted=granted, source=source,
        record_id=row["record_id"], recorded_granted=row["granted"],
        policy_version=row["policy_version"], method=row["method"],
        recorded_at=row["recorded_at"], needs_renewal=bool(row["needs_renewal"]),
        direct_marketing=row["direct_marketing"], retired=row["retired"],
    )


async def effective_state(
    *, conn: asyncpg.Connection, subject_id: str, gpc: bool = False,
    purpose_id: str | None = None,
) -> SubjectConsents:
    """The subject's effective consent per purpose (only `purpose_id`'s when given)."""
    rows = await (conn.fetch(STATE_SQL, subject_id) if purpose_id is None
                  else conn.fetch(PURPOSE_STATE_SQL, subject_id, purpose_id))
    objection = None
    if rows and rows[0]["obj_id"] is not None:
        objection = _objection_read({**dict(rows[0]), "subject_id": subject_id}, prefix="obj_")
    return SubjectConsents(
        subject_id=subject_id,
        policy_version=rows[0]["current_policy"] if rows else None,
        objection=objection,
        restricted=bool(rows and rows[0]["restricted"]),
        consents={row["purpose"]: _effective(row, gpc=gpc) for row in rows},
    )


def age_on(birth_date: date, today: date) -> int:
    return guards.age_on(birth_date, today)


async def check_parental_consent(
    *, conn: asyncpg.Connection, subject_id: str, change: ConsentChange, age_of_consent: int
) -> None:
    """O6: a grant by someone under 16 needs a verified parental consent on record."""
    if change.parental_consent_id is not None:
        owner = await conn.fetchval(
            "SELECT subject_id FROM parental_consent WHERE id = $1", change.parental_consent_id
        )
        if owner != subject_id:
            raise ApiError(422, "parental_consent_not_found",
                           "parental_consent_id does not name a parental consent of this person.")
    if change.birth_date is None or not change.granted:
        return
    today = guards.amsterdam_today()  # O6: a child turns 16 at midnight in the Netherlands
    if change.birth_date > today:
        raise ApiError(422, "invalid_birth_date", "birth_date lies in the future.")
    if age_on(change.birth_date, today) < age_of_consent and change.parental_consent_id is None:
        raise ApiError(
            422, "parental_consent_required",
            f"This person is under {age_of_consent}: a grant needs verified parental consent. "
            "Record it first (POST /v1/subjects/{subject_id}/parental-consents, staff) and pass "
            "its id as parental_consent_id.",
        )


async def _policy_for(
    *, conn: asyncpg.Connection, change: ConsentChange, actor: Actor, current: str | None
) -> str:
    current = in_force(current)
    if change.policy_version is None or change.policy_version == current:
        return current
    if change.method != "import" or not actor.on_behalf:
        raise ApiError(422, "policy_version_not_current",
                       f"Consent is given under the version in force ({current}); only staff "
                       "importing earlier consents may name another version.")
    known = await conn.fetchval(
        "SELECT true FROM policy_version WHERE version = $1 AND effective_date <= current_date",
        change.policy_version,
    )
    if not known:
        raise ApiError(422, "unknown_policy_version",
                       f"No policy version '{change.policy_version}' has been in force.")
    return change.policy_version


async def append_record(
    *, conn: asyncpg.Connection, subject_id: str, purpose_id: str, granted: bool,
    policy_version: str, method: str, actor: Actor, ledger_key: str,
    tenant_id: str | None = None, parental_consent_id: uuid.UUID | None = None,
    gpc: bool = False, chain_locked: bool = False,
) -> ConsentRecordRead:
    """Append one record to the subject's chain, sealed with the ledger key (O11). The advisory
    lock keeps the chain linear when two requests for one person arrive at once; a caller that
    took it already in this transaction (`CHAIN_LOCK_SQL`) says `chain_locked`."""
    if not chain_locked:
        await conn.execute(f"SELECT {CHAIN_LOCK_SQL.format(param='$1')}", subject_id)
    head = await conn.fetchrow(
        """SELECT chain_index, hash FROM consent_record WHERE subject_id = $1
           ORDER BY chain_index DESC LIMIT 1""",
        subject_id,
    )
    record: dict[str, Any] = {
        "id": uuid.uuid4(), "subject_id": subject_id,
        "chain_index": 0 if head is None else head["chain_index"] + 1,
        "purpose_id": purpose_id, "granted": granted, "policy_version": policy_version,
        "method": method, "actor_sub": actor.sub, "actor_role": actor.role,
        "on_behalf": actor.on_behalf, "tenant_id": tenant_id,
        "parental_consent_id": parental_consent_id, "gpc": gpc,
        "recorded_at": datetime.now(UTC), "prev_hash": chain.GENESIS if head is None else head["hash"],
    }
    record["hash"] = chain.record_hash(record)
    record["seal"] = chain.seal(ledger_key, record["hash"])
    await conn.execute(
        f"""INSERT INTO consent_record ({RECORD_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                    $17)""",
        *record.values(),
    )
    return record_read(record)


async def record_change(
    *, conn: asyncpg.Connection, subject_id: str, purpose_id: str, change: ConsentChange,
    actor: Actor, token_tenant: str | None, gpc_signal: bool, age_of_consent: int,
    ledger_key: str,
) -> ConsentRecordWritten:
    """Append the change to the ledger and announce the purpose's new effective state."""
    # One round trip for the purpose, the version in force and the subject's chain lock (taken
    # only when the purpose exists; released with the transaction, whatever is refused below).
    purpose = await conn.fetchrow(
        f"""SELECT retired_at IS NOT NULL AS retired, gpc_refusal,
                   ({CURRENT_POLICY_SQL}) AS current_policy, {CHAIN_LOCK_SQL.format(param="$2")}
            FROM purpose WHERE id = $1""",
        purpose_id, subject_id,
    )
    if purpose is None:
        raise ApiError(404, "purpose_not_found", f"There is no purpose '{purpose_id}'.")
    if purpose["retired"] and change.granted:
        raise ApiError(409, "purpose_retired",
                       f"The purpose '{purpose_id}' is retired; it can be withdrawn, not granted.")
    if change.method == "import" and not actor.on_behalf:
        raise ApiError(422, "import_is_for_staff", "Only staff import earlier consents.")
    if change.tenant_id is not None and not actor.on_behalf:
        raise ApiError(422, "tenant_from_token", "tenant_id comes from your token; leave it out.")
    await check_parental_consent(conn=conn, subject_id=subject_id, change=change,
                                 age_of_consent=age_of_consent)
    policy_version = await _policy_for(conn=conn, change=change, actor=actor,
                                       current=purpose["current_policy"])
    # O12: a GPC signal refuses these purposes, even in a request that would grant them.
    gpc = gpc_signal and purpose["gpc_refusal"] and change.granted
    record = await append_record(
        conn=conn, subject_id=subject_id, purpose_id=purpose_id,
        granted=change.granted and not gpc, policy_version=policy_version, method=change.method,
        actor=actor, ledger_key=ledger_key, tenant_id=change.tenant_id if actor.on_behalf else token_tenant,
        parental_consent_id=change.parental_consent_id, gpc=gpc, chain_locked=True,
    )
    effective = (await effective_state(conn=conn, subject_id=subject_id,
                                       purpose_id=purpose_id)).consents[purpose_id]
    await events.consent_changed(conn, subject_id=subject_id, purpose=purpose_id,
                                 granted=effective.granted, tenant_id=record.tenant_id)
    return ConsentRecordWritten(**record.model_dump(), effective=effective)


async def announce_changes(
    *, conn: asyncpg.Connection, subject_id: str, before: SubjectConsents,
    tenant_id: str | None,
) -> None:
    """Emit the purposes whose effective state differs from `before`."""
    after = await effective_state(conn=conn, subject_id=subject_id)
    for purpose, state in after.consents.items():
        old = before.consents.get(purpose)
        if old is None or old.granted != state.granted:
            await events.consent_changed(conn, subject_id=subject_id, purpose=purpose,
                                         granted=state.granted, tenant_id=tenant_id)


HISTORY_ORDERING = Ordering(
    {"chain_index": ("chain_index", "integer")}, tiebreak=("chain_index", "integer"),
    default="chain_index", tiebreak_key="chain_index",
)
OBJECTION_ORDERING = Ordering(
    {"created_at": ("created_at", "timestamptz")}, tiebreak=("id", "uuid"), default="created_at",
)
PARENTAL_CONSENT_ORDERING = Ordering(
    {"verified_at": ("verified_at", "timestamptz")}, tiebreak=("id", "uuid"),
    default="verified_at",
)


async def history(
    *, conn: asyncpg.Connection, subject_id: str, purpose_id: str | None = None,
    page: PageParams = ALL_ROWS, sort: SortOrder = HISTORY_ORDERING.default_order,
) -> list[ConsentRecordRead]:
    where, order_by, args = sort.keyset(page, first_param=3)
    rows = await conn.fetch(
        f"""SELECT {RECORD_COLUMNS} FROM consent_record
            WHERE subject_id = $1 AND ($2::text IS NULL OR purpose_id = $2) AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""",
        subject_id, purpose_id, *args,
    )
    return [record_read(r) for r in rows]


async def verify_chain(
    *, conn: asyncpg.Connection, subject_id: str, ledger_key: str
) -> ChainVerification:
    """The unkeyed chain and every record's seal (O11)."""
    rows = await conn.fetch(
        f"SELECT {RECORD_COLUMNS} FROM consent_record WHERE subject_id = $1 ORDER BY chain_index",
        subject_id,
    )
    problems = [
        ChainProblem(record_id=r["id"], chain_index=r["chain_index"], problem=p)
        for r, p in chain.verify(rows, ledger_key)
    ]
    return ChainVerification(
        subject_id=subject_id, valid=not problems, records=len(rows),
        head_hash=rows[-1]["hash"] if rows else None, problems=problems,
    )


async def renewals(*, conn: asyncpg.Connection, purpose_id: str | None) -> Renewals:
    """Who granted a purpose under a version older than its latest material change (O14)."""
    rows = await conn.fetch(
        """WITH latest AS (
               SELECT DISTINCT ON (subject_id, purpose_id) subject_id, purpose_id, granted,
                      policy_version
               FROM consent_record WHERE $1::text IS NULL OR purpose_id = $1
               ORDER BY subject_id, purpose_id, chain_index DESC)
           SELECT l.purpose_id, l.subject_id FROM latest l
           JOIN policy_version rv ON rv.version = l.policy_version
           WHERE l.granted AND EXISTS (
               SELECT 1 FROM policy_version v WHERE v.seq > rv.seq
                 AND v.effective_date <= current_date AND l.purpose_id = ANY (v.material_purposes))
           ORDER BY l.purpose_id, l.subject_id""",
        purpose_id,
    )
    purposes: dict[str, list[str]] = {}
    for row in rows:
        purposes.setdefault(row["purpose_id"], []).append(row["subject_id"])
    version = await conn.fetchval(CURRENT_POLICY_SQL)
    return Renewals(policy_version=version, purposes=purposes)


# --- objection to direct marketing (O12) ---------------------------------------------------

OBJECTION_COLUMNS = """id, subject_id, purposes, actor_sub, actor_role, created_at, lifted_at,
    lifted_by"""


async def objections(
    *, conn: asyncpg.Connection, subject_id: str, page: PageParams = ALL_ROWS,
    sort: SortOrder = OBJECTION_ORDERING.default_order,
) -> list[ObjectionRead]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT {OBJECTION_COLUMNS} FROM marketing_objection WHERE subject_id = $1
            AND {where} ORDER BY {order_by} LIMIT {page.limit + 1}""",
        subject_id, *args,
    )
    return [_objection_read(r) for r in rows]


async def object_to_marketing(
    *, conn: asyncpg.Connection, subject_id: str, purposes: list[str] | None, actor: Actor,
    tenant_id: str | None,
) -> ObjectionRead:
    """An objection beats any grant (O12); the purposes it turns off are announced."""
    if purposes is not None:
        purposes = sorted(set(purposes))
        marketing = {r["id"] for r in await conn.fetch(
            "SELECT id FROM purpose WHERE direct_marketing AND id = ANY($1::text[])", purposes)}
        other = [p for p in purposes if p not in marketing]
        if other or not purposes:
            raise ApiError(422, "not_direct_marketing",
                           "An objection covers direct-marketing purposes only; not: "
                           f"{', '.join(other) or '(an empty list)'}. Leave purposes out for all.")
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 27560))", subject_id)
    before = await effective_state(conn=conn, subject_id=subject_id)
    await conn.execute(
        """UPDATE marketing_objection SET lifted_at = now(), lifted_by = $2
           WHERE subject_id = $1 AND lifted_at IS NULL""",
        subject_id, actor.sub,
    )
    row = await conn.fetchrow(
        f"""INSERT INTO marketing_objection (id, subject_id, purposes, actor_sub, actor_role)
            VALUES ($1, $2, $3, $4, $5) RETURNING {OBJECTION_COLUMNS}""",
        uuid.uuid4(), subject_id, purposes, actor.sub, actor.role,
    )
    assert row is not None
    await announce_changes(conn=conn, subject_id=subject_id, before=before, tenant_id=tenant_id)
    return _objection_read(row)


async def lift_objection(
    *, conn: asyncpg.Connection, subject_id: str, actor: Actor, tenant_id: str | None
) -> ObjectionRead:
    before = await effective_state(conn=conn, subject_id=subject_id)
    row = await conn.fetchrow(
        f"""UPDATE marketing_objection SET lifted_at = now(), lifted_by = $2
            WHERE subject_id = $1 AND lifted_at IS NULL RETURNING {OBJECTION_COLUMNS}""",
        subject_id, actor.sub,
    )
    if row is None:
        raise ApiError(404, "no_objection", "There is no active objection to lift.")
    await announce_changes(conn=conn, subject_id=subject_id, before=before, tenant_id=tenant_id)
    return _objection_read(row)


# --- parental consent (O6) -----------------------------------------------------------------

async def add_parental_consent(
    *, conn: asyncpg.Connection, subject_id: str, body: ParentalConsentCreate, actor: Actor
) -> ParentalConsentRead:
    """The one parental-consent record of a person (O6): staff record it here, and
    training-records records here what a Beheerder checked when registering an under-16."""
    row = await conn.fetchrow(
        """INSERT INTO parental_consent (id, subject_id, guardian_reference, verification_method,
               verified_by, verified_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        uuid.uuid4(), subject_id, body.guardian_reference, body.verification_method, actor.sub,
        body.verified_at or datetime.now(UTC),
    )
    return ParentalConsentRead(**dict(row))


async def parental_consents(
    *, conn: asyncpg.Connection, subject_id: str, page: PageParams = ALL_ROWS,
    sort: SortOrder = PARENTAL_CONSENT_ORDERING.default_order,
) -> list[ParentalConsentRead]:
    rows = await sort.fetch_page(
        conn, page, "SELECT * FROM parental_consent WHERE subject_id = $1", subject_id)
    return [ParentalConsentRead(**dict(r)) for r in rows]


# --- restriction and withdrawal of all consent (O19) ---------------------------------------

async def set_restriction(
    *, conn: asyncpg.Connection, subject_id: str, cause: str | None
) -> None:
    """Restrict (cause 'restricted' or 'objected') or lift (cause None) the person's processing."""
    if cause is None:
        await conn.execute("DELETE FROM subject_restriction WHERE subject_id = $1", subject_id)
        return
    await conn.execute(
        """INSERT INTO subject_restriction (subject_id, cause) VALUES ($1, $2)
           ON CONFLICT (subject_id) DO NOTHING""",
        subject_id, cause,
    )


async def withdraw_all(
    *, conn: asyncpg.Connection, subject_id: str, actor: Actor, ledger_key: str
) -> list[ConsentRecordRead]:
    """A withdrawal record for every purpose in the catalogue, retired ones included: the
    ledger then proves the person withdrew everything at this moment (O11, O19)."""
    policy_version = await current_policy_version(conn=conn)
    purposes = await conn.fetch("SELECT id FROM purpose ORDER BY id")
    return [
        await append_record(conn=conn, subject_id=subject_id, purpose_id=p["id"], granted=False,
                            policy_version=policy_version, method="api", actor=actor,
                            ledger_key=ledger_key)
        for p in purposes
    ]
