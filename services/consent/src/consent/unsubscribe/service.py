"""One-click unsubscribe (O12, RFC 8058): a signed, expiring token per person and purpose, that
withdraws without signing in and is recorded in the ledger like any withdrawal.

The token is a JWT (HS256) under `UNSUBSCRIBE_SECRET`, or, when that is unset, a key derived
from the ledger key, so a deployment needs no extra secret; setting it lets the links be
rotated on their own. It names the subject and the purpose (or `all` direct marketing) and
expires after `UNSUBSCRIBE_TTL_S`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import jwt

from consent import events
from consent.catalogue.service import current_policy_version
from consent.ledger.models import Actor
from consent.ledger.service import append_record, effective_state
from consent.settings import Settings
from consent.unsubscribe.models import ALL_PURPOSES, Unsubscribed, UnsubscribeLink, UnsubscribeOffer
from privacy_kit.errors import ApiError

AUDIENCE = "privacy-suite-unsubscribe"
METHOD = "unsubscribe-link"
ONE_CLICK = "List-Unsubscribe=One-Click"
ROUTE = "/v1/unsubscribe"


def _key(settings: Settings) -> str:
    if settings.unsubscribe_secret:
        return settings.unsubscribe_secret
    return hmac.new(settings.ledger_key.encode(), b"unsubscribe-links", hashlib.sha256).hexdigest()


async def _direct_marketing(conn: asyncpg.Connection, purpose: str) -> list[str]:
    """The purposes an unsubscribe for `purpose` covers."""
    if purpose == ALL_PURPOSES:
        rows = await conn.fetch(
            "SELECT id FROM purpose WHERE direct_marketing AND retired_at IS NULL ORDER BY id")
        return [r["id"] for r in rows]
    row = await conn.fetchrow("SELECT direct_marketing FROM purpose WHERE id = $1", purpose)
    if row is None:
        raise ApiError(404, "purpose_not_found", f"There is no purpose '{purpose}'.")
    if not row["direct_marketing"]:
        raise ApiError(422, "not_direct_marketing",
                       f"'{purpose}' is not about messages to the person; an unsubscribe link "
                       f"covers a direct-marketing purpose or '{ALL_PURPOSES}'.")
    return [purpose]


async def mint_link(
    *, conn: asyncpg.Connection, settings: Settings, subject_id: str, purpose: str,
    now: float | None = None,
) -> UnsubscribeLink:
    """The link and headers for one message to `subject_id` about `purpose`."""
    await _direct_marketing(conn, purpose)
    issued = int(now if now is not None else time.time())
    expires = issued + settings.unsubscribe_ttl_s
    token = jwt.encode(
        {"sub": subject_id, "purpose": purpose, "aud": AUDIENCE, "iat": issued, "exp": expires},
        _key(settings), algorithm="HS256",
    )
    url = f"{settings.public_url.rstrip('/')}{ROUTE}/{token}"
    return UnsubscribeLink(
        url=url, purpose=purpose, expires_at=datetime.fromtimestamp(expires, UTC),
        headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK},
    )


def read_token(settings: Settings, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, _key(settings), algorithms=["HS256"], audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise ApiError(410, "unsubscribe_link_expired",
                       "This unsubscribe link has expired. Change your choices on "
                       f"{settings.withdrawal_url} instead.") from exc
    except jwt.PyJWTError as exc:
        raise ApiError(400, "invalid_unsubscribe_link",
                       "This unsubscribe link is not valid; it may have been cut off.") from exc
    if not isinstance(claims.get("purpose"), str):
        raise ApiError(400, "invalid_unsubscribe_link", "This unsubscribe link names no purpose.")
    return claims


def is_one_click(content_type: str, body: bytes) -> bool:
    """Whether the body is RFC 8058's `List-Unsubscribe=One-Click`, form- or multipart-encoded."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get("List-Unsubscribe", [])
    elif kind == "multipart/form-data":
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
        values = [
            str(part.get_content()).strip() for part in message.iter_parts()
            if part.get_param("name", header="content-disposition") == "List-Unsubscribe"
        ]
    else:
        values = []
    return "One-Click" in values


async def offer(*, conn: asyncpg.Connection, settings: Settings, token: str) -> UnsubscribeOffer:
    claims = read_token(settings, token)
    return UnsubscribeOffer(
        purposes=await _direct_marketing(conn, claims["purpose"]),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        how=f"POST this URL with the body '{ONE_CLICK}' (RFC 8058) to unsubscribe.",
    )


async def unsubscribe(
    *, conn: asyncpg.Connection, settings: Settings, token: str
) -> Unsubscribed:
    """Withdraw the link's purposes in the ledger, as the person (method `unsubscribe-link`).
    A purpose whose latest record is a withdrawal already gets no second record."""
    claims = read_token(settings, token)
    subject_id: str = claims["sub"]
    purposes = await _direct_marketing(conn, claims["purpose"])
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 27560))", subject_id)
    before = await effective_state(conn=conn, subject_id=subject_id)
    tenant_id = await conn.fetchval(
        """SELECT tenant_id FROM consent_record WHERE subject_id = $1 AND tenant_id IS NOT NULL
           ORDER BY chain_index DESC LIMIT 1""", subject_id)
    version = await current_policy_version(conn=conn)
    actor = Actor(sub=subject_id, role="subject", on_behalf=False)
    records = []
    for purpose in purposes:
        state = before.consents.get(purpose)
        if state is not None and state.record_id is not None and state.recorded_granted is False:
            continue
        record = await append_record(
            conn=conn, subject_id=subject_id, purpose_id=purpose, granted=False,
            policy_version=version, method=METHOD, actor=actor, ledger_key=settings.ledger_key,
            tenant_id=tenant_id,
        )
        records.append(record.id)
        if state is None or state.granted:
            await events.consent_changed(conn, subject_id=subject_id, purpose=purpose,
                                         granted=False, tenant_id=tenant_id)
    return Unsubscribed(purposes=purposes, records=records)
