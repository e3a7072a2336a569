"""`Idempotency-Key` on POST: a retry with the same key and body gets the first answer.

A client that sends `Idempotency-Key: <unique value>` with a POST may send the same request
again (after a timeout, a dropped connection) without creating a second tenant, participant or
erasure job:

- same caller, same key, same method, path, query and body within `IDEMPOTENCY_TTL_S` (24 h):
  the first answer is returned again, status, body and `Location`/`ETag` alike, with
  `Idempotent-Replayed: true`;
- same key with another request: 409 `idempotency_key_reused`;
- while the first request is still running: 409 `idempotency_request_in_progress`
  with `Retry-After: 1`.

Keys belong to the caller: the `sub` of a valid token, or `anonymous` for public routes (use a
random UUID as key there). Answers of 500 and above are not kept (the retry runs again), nor
are 401, 403 and 429, which depend on the caller's token and pace rather than on the request.

The answer is kept in the service's own database (`idempotency_key`, a kit table) next to the
change itself, but written after the change's transaction has committed: should the process
die between the two, the key is released when its lease (`IDEMPOTENCY_LEASE_S`) runs out and a
retry then runs again. An erasure deletes the kept answers of and about the erased subject or
tenant (they may hold personal data); everything else expires after 24 hours.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

import asyncpg
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy_kit.errors import ApiError, error_body
from privacy_kit.i18n import localize, request_language, tr

log = logging.getLogger(__name__)

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
# Statuses that say something about the caller's token or pace, not about the request.
_NOT_KEPT = frozenset({401, 403, 429})
# Response headers worth replaying; the rest (date, request id) belong to the new answer.
_REPLAYED_HEADERS = ("content-type", "location", "etag", "content-language")


class IdempotencyMiddleware:
    """Pure ASGI: wraps a service whose app has `state.pool` and `state.token_verifier`."""

    def __init__(self, app: ASGIApp, *, ttl_s: int = 24 * 3600, lease_s: int = 60) -> None:
        self.app = app
        self.ttl = timedelta(seconds=ttl_s)
        self.lease = timedelta(seconds=lease_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = Headers(scope=scope).get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isascii():
            await _refuse(scope, send, 422, "invalid_idempotency_key", tr(
                "Idempotency-Key must be 1 to 255 ASCII characters; a random UUID is best."))
            return
        caller = _caller(scope)
        if caller is None:  # no valid token: let the app answer 401, nothing to keep
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        fingerprint = _fingerprint(scope, body)
        pool: asyncpg.Pool = scope["app"].state.pool
        sub, tenant = caller
        async with pool.acquire() as conn:
            row = await self._claim(conn, sub, key, tenant, fingerprint, scope)
        if row is not None:
            await self._answer_from(row, fingerprint, scope, send)
            return
        await self._run_and_keep(scope, body, send, pool, sub, key)

    async def _claim(
        self, conn: asyncpg.Connection, caller: str, key: str, tenant: str | None,
        fingerprint: str, scope: Scope,
    ) -> asyncpg.Record | None:
        """None when this request now owns the key; else the row of the earlier request."""
        async with conn.transaction():
            await conn.execute(
                "DELETE FROM idempotency_key WHERE caller = $1 AND key = $2 AND expires_at < now()",
                caller, key)
            inserted = await conn.fetchval(
                """INSERT INTO idempotency_key (caller, key, caller_tenant, fingerprint, method,
                       path, locked_until, expires_at)
                   VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval, now() + $8::interval)
                   ON CONFLICT (caller, key) DO NOTHING RETURNING true""",
                caller, key, tenant, fingerprint, scope["method"], scope["path"],
                self.lease, self.ttl)
            if inserted:
                return None
            # A first request that died before answering leaves its lease behind.
            taken_over = await conn.fetchval(
                """UPDATE idempotency_key SET locked_until = now() + $4::interval
                   WHERE caller = $1 AND key = $2 AND fingerprint = $3 AND status IS NULL
                     AND locked_until < now()
                   RETURNING true""",
                caller, key, fingerprint, self.lease)
            if taken_over:
                return None
            return await conn.fetchrow(
                "SELECT fingerprint, status, headers, body FROM idempotency_key "
                "WHERE caller = $1 AND key = $2", caller, key)

    async def _answer_from(
        self, row: asyncpg.Record, fingerprint: str, scope: Scope, send: Send
    ) -> None:
        if row["fingerprint"] != fingerprint:
            await _refuse(scope, send, 409, "idempotency_key_reused", tr(
                "This Idempotency-Key was used for another request. Use a new key for a new "
                "request; send a retry with exactly the same method, path and body."))
            return
        if row["status"] is None:
            await _refuse(scope, send, 409, "idempotency_request_in_progress", tr(
                "The first request with this Idempotency-Key is still running; try again "
                "in a moment."), headers={"Retry-After": "1"})
            return
        headers = [(k.encode("latin-1"), v.encode("latin-1"))
                   for k, v in json.loads(row["headers"] or "[]")]
        headers.append((b"idempotent-replayed", b"true"))
        body = bytes(row["body"] or b"")
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": row["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _run_and_keep(
        self, scope: Scope, body: bytes, send: Send, pool: asyncpg.Pool, caller: str, key: str
    ) -> None:
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await _release(pool, caller, key)
            raise
        if start is None:
            await _release(pool, caller, key)
            return
        status = int(start["status"])
        answer = b"".join(chunks)
        if status >= 500 or status in _NOT_KEPT:
            await _release(pool, caller, key)
        else:
            kept = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]
                    if k.decode("latin-1").lower() in _REPLAYED_HEADERS]
            async with pool.acquire() as conn:
                await conn.execute(
                    """UPDATE idempotency_key SET status = $3, headers = $4::jsonb, body = $5,
                           locked_until = NULL
                       WHERE caller = $1 AND key = $2""",
                    caller, key, status, json.dumps(kept), answer)
        await send(start)
        await send({"type": "http.response.body", "body": answer})


IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "A new random value (a UUID) per request: sending the same request again "
                   "with it within 24 hours returns the first answer instead of doing it twice.",
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    "example": "5f0c2a4e-9d3b-4c1e-8a7f-2b6d9e0c1a34",
}


def document_idempotency(app: FastAPI) -> None:
    """Show the header on every POST operation of the app's OpenAPI description (wrapping
    whatever builds that description, so other additions to it compose)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        for operations in document.get("paths", {}).values():
            post = operations.get("post")
            if post is None:
                continue
            parameters = post.setdefault("parameters", [])
            if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                parameters.append(IDEMPOTENCY_PARAMETER)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


async def _release(pool: asyncpg.Pool, caller: str, key: str) -> None:
    try:
        async with pool.acquire() as conn:
            await conn.execute("DELETE FROM idempotency_key WHERE caller = $1 AND key = $2",
                               caller, key)
    except Exception:  # the lease runs out on its own
        log.warning("could not release idempotency key of %s", caller, exc_info=True)


def _caller(scope: Scope) -> tuple[str, str | None] | None:
    """(sub, tenant) of a valid token, ('anonymous', None) without one, None for a bad one."""
    header = Headers(scope=scope).get("authorization")
    if not header:
        return "anonymous", None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        principal = scope["app"].state.token_verifier.verify(token.strip())
    except ApiError:
        return None
    scope.setdefault("state", {})["principal"] = principal  # verified once per request
    return str(principal.sub), principal.tenant


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope.get("raw_path") or scope["path"].encode(),
                 scope.get("query_string", b""), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str,
                  headers: dict[str, str] | None = None) -> None:
    from starlette.requests import Request

    language = request_language(Request(scope))
    response = JSONResponse(error_body(code, localize(message, language)), status,
                            headers={**(headers or {}), "Content-Language": language})

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)


async def forget_answers(
    conn: asyncpg.Connection, *, kind: str, subject_id: str | None, tenant_id: str | None
) -> int:
    """On erasure: the kept answers of the erased subject or tenant, or that mention them."""
    target = subject_id if kind == "subject" else tenant_id if kind == "tenant" else None
    if not target:
        return 0
    column = "caller" if kind == "subject" else "caller_tenant"
    status = await conn.execute(
        f"""DELETE FROM idempotency_key
            WHERE {column} = $1 OR position(convert_to($1, 'UTF8') IN coalesce(body, '')) > 0""",
        target)
    return int(status.rsplit(" ", 1)[-1])
