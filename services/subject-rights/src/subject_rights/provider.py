"""What subject-rights holds on a person, and how erasure leaves the proof of the answer.

Erasing a person must not erase the proof that their request was answered (the controller's
accountability, GDPR art. 5(2)): the case is de-identified instead of deleted. It keeps kind,
dates, state, outcome, refusal ground, the erasure certificate and a keyed hash of the subject
id; the subject id, the person's words, identity codes, bundles and free-text notes go.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from privacy_kit.db import rows_affected
from privacy_kit.protocol import RetentionRule
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider, TenantRecord

ERASED = "(erased person)"
DEIDENTIFIED_OUTCOME_DROPS = ["review", "extension_told"]


class SubjectRightsProvider(PrivacyProvider):
    store = "subject-rights"

    def inventory(self) -> list[DataCategory]:
        controllers = ["the client organisation's Beheerders (controller, for its participants)",
                       "the platform's DPO (for the platform's own users)"]
        return [
            DataCategory(
                name="subject_requests",
                fields=["subject_id", "tenant_id", "kind", "details", "channel", "received_at",
                        "due_at", "status", "history", "decision", "refusal ground",
                        "rectification"],
                purpose="Handle data subject requests within the legal term (GDPR art. 12, "
                        "15-22; O19-O25)",
                legal_basis="legal obligation (art. 6(1)(c))",
                retention=RetentionRule(period="P1Y", clock="request_handled",
                                        action="anonymise"),
                retention_rule="a year after the request was handled (O21), with the person's "
                               "erasure at the latest; then a de-identified record (kind, "
                               "dates, outcome, ground, hashed id, certificate) is kept as "
                               "proof of the answer (art. 5(2))",
                recipients=controllers,
                data_subjects=["participants", "website visitors", "customers"],
            ),
            DataCategory(
                name="identity_codes", fields=["code (keyed hash)", "sent_at", "tries"],
                purpose="Identify the requester before a request is handled (O20)",
                legal_basis="legal obligation (art. 12(6))",
                retention=RetentionRule(period="P1D", clock="record_created"),
                retention_rule="a day after it was sent (it expires then), or until the "
                               "request is verified or the person is erased",
                recipients=[],
                data_subjects=["participants", "website visitors", "customers"],
            ),
            DataCategory(
                name="access_bundles", fields=["every store's export of the person"],
                purpose="Give the person a copy of their data (art. 15, 20; O19)",
                legal_basis="legal obligation (art. 6(1)(c))",
                retention=RetentionRule(period="P7D", clock="record_created"),
                retention_rule="a limited time after assembly (BUNDLE_TTL_S, a week), then "
                               "deleted",
                recipients=["the person", "their organisation's Beheerder (tenant requests)"],
                data_subjects=["participants", "website visitors", "customers"],
            ),
            DataCategory(
                name="bundle_downloads", fields=["actor", "roles", "downloaded_at"],
                purpose="Attribute every download of a person's data (O3)",
                legal_basis="legal obligation (accountability, art. 5(2))",
                retention=RetentionRule(period="P1Y", clock="request_handled",
                                        action="anonymise"),
                retention_rule="with the request record: the downloader's id goes a year "
                               "after the request was handled",
                recipients=["the platform's DPO"],
                data_subjects=["participants", "Beheerders", "website visitors", "customers"],
            ),
        ]

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        rows = await conn.fetch(
            """SELECT id, kind, details, status, channel, on_behalf, tenant_id, received_at,
                      due_at, verified_at, extended_at, extension_reason, refusal_ground,
                      refusal_explanation, closed_at
               FROM subject_request WHERE subject_id = $1 ORDER BY received_at""", subject_id)
        ids = [r["id"] for r in rows]
        history = await conn.fetch(
            """SELECT request_id, action, to_status, actor_role, at FROM subject_request_event
               WHERE request_id = ANY($1::uuid[]) ORDER BY id""", ids)
        downloads = await conn.fetch(
            """SELECT request_id, actor, actor_roles, downloaded_at FROM bundle_download
               WHERE request_id = ANY($1::uuid[]) ORDER BY id""", ids)
        return {
            "requests": {
                "purpose": self.inventory()[0].purpose, "source": "your own requests",
                "records": [dict(r) for r in rows]},
            "request_history": {"source": "the handling of your requests",
                                "records": [dict(r) for r in history]},
            "bundle_downloads": {"source": "downloads of your data",
                                 "records": [dict(r) for r in downloads]},
        }

    async def export_tenant(
        self, conn: asyncpg.Connection, tenant_id: str
    ) -> AsyncIterator[TenantRecord]:
        async for row in conn.cursor(
                """SELECT row_to_json(r)::text AS j FROM (
                       SELECT id, subject_id, kind, details, status, submitted_by, received_at,
                              due_at
                       FROM subject_request WHERE tenant_id = $1 ORDER BY received_at) r""",
                tenant_id, prefetch=2000):
            yield TenantRecord("subject_requests", "subject_request", row["j"])

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        if scope.kind == "subject" and scope.subject_id:
            return {"subject_requests": await deidentify(conn, [scope.subject_id])}
        if (scope.kind == "tenant" and scope.tenant_id
                and "subject_requests" not in scope.held_categories):
            subjects = await conn.fetch(
                """SELECT DISTINCT subject_id FROM subject_request
                   WHERE tenant_id = $1 AND subject_id IS NOT NULL
                     AND NOT (subject_id = ANY($2::text[]))""",
                scope.tenant_id, scope.held_subject_ids)
            return {"subject_requests": await deidentify(conn, [r["subject_id"] for r in subjects])}
        if scope.kind == "category" and scope.older_than is not None:
            return await _sweep_category(conn, scope)
        return {}


# The requests a category sweep may touch: none of a held person or a held tenant (O17).
_NOT_HELD = """r.subject_id IS NOT NULL AND NOT (r.subject_id = ANY($2::text[]))
               AND NOT coalesce(r.tenant_id = ANY($3::text[]), false)
               AND ($4::text IS NULL OR r.tenant_id = $4)"""


async def _sweep_category(conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
    """A retention sweep (O15). Requests handled before the cut-off become de-identified
    accountability records (whatever the action: the proof of the answer stays, naming no
    one); codes and bundles older than the cut-off go; downloads lose the downloader's id."""
    held = (scope.older_than, scope.held_subject_ids, scope.held_tenant_ids, scope.tenant_id)
    if scope.category == "subject_requests":
        rows = await conn.fetch(
            f"SELECT r.id, r.subject_id FROM subject_request r "
            f"WHERE r.closed_at < $1 AND {_NOT_HELD}", *held)
        return {"subject_requests": await deidentify_cases(
            conn, [r["id"] for r in rows], sorted({r["subject_id"] for r in rows}))}
    if scope.category == "identity_codes":
        status = await conn.execute(
            f"DELETE FROM identity_code c USING subject_request r "
            f"WHERE c.request_id = r.id AND c.sent_at < $1 AND {_NOT_HELD}", *held)
        return {"identity_codes": rows_affected(status)}
    if scope.category == "access_bundles":
        status = await conn.execute(
            f"DELETE FROM access_bundle b USING subject_request r "
            f"WHERE b.request_id = r.id AND b.created_at < $1 AND {_NOT_HELD}", *held)
        return {"access_bundles": rows_affected(status)}
    if scope.category == "bundle_downloads":
        status = await conn.execute(
            f"UPDATE bundle_download d SET actor = $5 FROM subject_request r "
            f"WHERE d.request_id = r.id AND r.closed_at < $1 AND d.actor <> $5 AND {_NOT_HELD}",
            *held, ERASED)
        return {"bundle_downloads": rows_affected(status)}
    return {}


async def deidentify(conn: asyncpg.Connection, subject_ids: list[str]) -> int:
    """Turn the cases about these people into de-identified accountability records, and take
    their ids out of every case they acted in (e.g. a Beheerder who is erased)."""
    if not subject_ids:
        return 0
    cases = [r["id"] for r in await conn.fetch(
        "SELECT id FROM subject_request WHERE subject_id = ANY($1::text[])", subject_ids)]
    return await deidentify_cases(conn, cases, subject_ids, everywhere=True)


async def deidentify_cases(conn: asyncpg.Connection, cases: list[Any], subject_ids: list[str],
                           *, everywhere: bool = False) -> int:
    """De-identify these cases and replace these people's ids in them; `everywhere`: in every
    case they acted in too (people who are erased, e.g. a Beheerder)."""
    if not cases and not everywhere:
        return 0
    # $3: everywhere, $4: the cases; a person's id goes from these cases, or from all.
    where = "AND ($3::boolean OR {col} = ANY($4::uuid[]))"
    args = (subject_ids, ERASED, everywhere, cases)
    await conn.execute("SELECT set_config('subject_rights.deidentify', 'on', true)")
    await conn.execute(
        "UPDATE subject_request_event SET note = NULL WHERE request_id = ANY($1::uuid[])", cases)
    await conn.execute(
        "UPDATE subject_request_event SET actor = $2 WHERE actor = ANY($1::text[]) "
        + where.format(col="request_id"), *args)
    await conn.execute("SELECT set_config('subject_rights.deidentify', 'off', true)")
    await conn.execute("DELETE FROM identity_code WHERE request_id = ANY($1::uuid[])", cases)
    await conn.execute("DELETE FROM access_bundle WHERE request_id = ANY($1::uuid[])", cases)
    await conn.execute(
        "UPDATE bundle_download SET actor = $2 WHERE actor = ANY($1::text[]) "
        + where.format(col="request_id"), *args)
    await conn.execute(
        """UPDATE subject_request SET
               submitted_by = CASE WHEN submitted_by = ANY($1::text[]) THEN $2 ELSE submitted_by END,
               decided_by = CASE WHEN decided_by = ANY($1::text[]) THEN $2 ELSE decided_by END
           WHERE (submitted_by = ANY($1::text[]) OR decided_by = ANY($1::text[])) """
        + where.format(col="id"), *args)
    await conn.execute(
        """UPDATE subject_request SET subject_id = NULL, details = '', rectification = NULL,
               refusal_explanation = NULL, extension_reason = NULL,
               outcome = outcome - $2::text[], updated_at = now()
           WHERE id = ANY($1::uuid[])""",
        cases, DEIDENTIFIED_OUTCOME_DROPS)
    return len(cases)
