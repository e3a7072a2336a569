"""O13: the "no anonymised data" opt-out as other stores ask it, at the moment they anonymise.

Events on `privacy.consent` tell the stores about an opt-out, but an erasure on another topic
may be handled first; a store that is about to fold a person into anonymous aggregates
therefore asks here, with a service token, and folds nobody when this cannot answer.

Erasure may reach this store before the asking one: an opted-out person's erasure leaves a
keyed hash of their id (`erased_opt_out`, HMAC under the ledger key, so the table alone links
to nobody) for `OPT_OUT_MEMORY_DAYS`, long enough for every store to finish the same erasure.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from consent.events import ANONYMISED_DATA
from consent.settings import Settings, SettingsDep
from privacy_kit.app import DbConn
from privacy_kit.auth import ServiceCaller

router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)

_OPTED_OUT_SQL = """
SELECT s.id AS subject_id, coalesce(
    (SELECT NOT r.granted FROM consent_record r
     WHERE r.subject_id = s.id AND r.purpose_id = $3 ORDER BY r.chain_index DESC LIMIT 1),
    CASE WHEN EXISTS (SELECT 1 FROM erased_opt_out e WHERE e.subject_hash = s.hash)
         THEN true END,
    (SELECT NOT default_granted FROM purpose WHERE id = $3),
    false) AS opted_out
FROM unnest($1::text[], $2::text[]) AS s(id, hash)
"""


class OptOut(BaseModel):
    subject_id: str
    opted_out: bool = Field(description="Keep not even anonymised data of this person.")


class OptOutQuery(BaseModel):
    subject_ids: list[str] = Field(max_length=10_000)


class OptedOut(BaseModel):
    opted_out: list[str] = Field(description="Those of the asked subjects who opted out.")


def subject_hash(settings: Settings, subject_id: str) -> str:
    return hmac.new(settings.ledger_key.encode(), f"opt-out:{subject_id}".encode(),
                    hashlib.sha256).hexdigest()


async def opted_out(
    *, conn: asyncpg.Connection, settings: Settings, subject_ids: list[str]
) -> dict[str, bool]:
    rows = await conn.fetch(_OPTED_OUT_SQL, subject_ids,
                            [subject_hash(settings, s) for s in subject_ids], ANONYMISED_DATA)
    return {r["subject_id"]: bool(r["opted_out"]) for r in rows}


async def remember_erased(
    *, conn: asyncpg.Connection, settings: Settings, subject_id: str
) -> bool:
    """Before a subject's ledger goes: keep the keyed hash if they opted out, for a while."""
    state = await opted_out(conn=conn, settings=settings, subject_ids=[subject_id])
    await conn.execute(
        "DELETE FROM erased_opt_out WHERE erased_at < now() - make_interval(days => $1)",
        settings.opt_out_memory_days)
    if not state[subject_id]:
        return False
    await conn.execute(
        """INSERT INTO erased_opt_out (subject_hash) VALUES ($1)
           ON CONFLICT (subject_hash) DO UPDATE SET erased_at = now()""",
        subject_hash(settings, subject_id))
    return True


@router.get("/subjects/{subject_id}/anonymisation-opt-out")
async def get_opt_out(
    subject_id: str, conn: DbConn, settings: SettingsDep, _: ServiceCaller
) -> OptOut:
    state = await opted_out(conn=conn, settings=settings, subject_ids=[subject_id])
    return OptOut(subject_id=subject_id, opted_out=state[subject_id])


@router.post("/anonymisation-opt-outs")
async def query_opt_outs(
    body: Annotated[OptOutQuery, Body()], conn: DbConn, settings: SettingsDep, _: ServiceCaller
) -> OptedOut:
    state = await opted_out(conn=conn, settings=settings, subject_ids=body.subject_ids)
    return OptedOut(opted_out=[s for s, out in state.items() if out])
