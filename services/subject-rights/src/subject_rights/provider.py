"""What subject-rights holds on a person, and how erasure leaves the proof of the answer.

Erasing a person must not erase the proof that their request was answered (the controller's
accountability, GDPR art. 5(2)): the case is de-identified instead of deleted. It keeps kind,
dates, state, outcome, refusal ground, the erasure certificate and a keyed hash of the subject
id; the subject id, the person's words, identity codes, bundles and free-text notes go.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider

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
                retention_rule="until the person's erasure; then a de-identified record "
                               "(kind, dates, outcome, ground, hashed id, certificate) is kept "
                               "as proof of the answer (art. 5(2))",
                recipients=controllers,
            ),
            DataCategory(
                name="identity_codes", fields=["code (keyed hash)", "sent_at", "tries"],
                purpose="Identify the requester before a request is handled (O20)",
                legal_basis="legal obligation (art. 12(6))",
                retention_rule="until the request is verified or the person is erased",
                recipients=[],
            ),
            DataCategory(
                name="access_bundles", fields=["every store's export of the person"],
                purpose="Give the person a copy of their data (art. 15, 20; O19)",
                legal_basis="legal obligation (art. 6(1)(c))",
                retention_rule="a limited time after assembly (BUNDLE_TTL_S), then deleted",
                recipients=["the person", "their organisation's Beheerder (tenant requests)"],
            ),
            DataCategory(
                name="bundle_downloads", fields=["actor", "roles", "downloaded_at"],
                purpose="Attribute every download of a person's data (O3)",
                legal_basis="legal obligation (accountability, art. 5(2))",
                retention_rule="with the request record",
                recipients=["the platform's DPO"],
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

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        if scope.kind == "subject" and scope.subject_id:
            return {"subject_requests": await deidentify(conn, [scope.subject_id])}
        if scope.kind == "tenant" and scope.tenant_id:
            subjects = await conn.fetch(
                """SELECT DISTINCT subject_id FROM subject_request
                   WHERE tenant_id = $1 AND subject_id IS NOT NULL
                     AND NOT (subject_id = ANY($2::text[]))""",
                scope.tenant_id, scope.held_subject_ids)
            return {"subject_requests": await deidentify(conn, [r["subject_id"] for r in subjects])}
        return {}


async def deidentify(conn: asyncpg.Connection, subject_ids: list[str]) -> int:
    """Turn the cases about these people into de-identified accountability records, and take
    their ids out of every case they acted in (e.g. a Beheerder who is erased)."""
    if not subject_ids:
        return 0
    cases = [r["id"] for r in await conn.fetch(
        "SELECT id FROM subject_request WHERE subject_id = ANY($1::text[])", subject_ids)]
    await conn.execute("SELECT set_config('subject_rights.deidentify', 'on', true)")
    await conn.execute(
        "UPDATE subject_request_event SET note = NULL WHERE request_id = ANY($1::uuid[])", cases)
    await conn.execute(
        "UPDATE subject_request_event SET actor = $2 WHERE actor = ANY($1::text[])",
        subject_ids, ERASED)
    await conn.execute("SELECT set_config('subject_rights.deidentify', 'off', true)")
    await conn.execute("DELETE FROM identity_code WHERE request_id = ANY($1::uuid[])", cases)
    await conn.execute("DELETE FROM access_bundle WHERE request_id = ANY($1::uuid[])", cases)
    await conn.execute(
        "UPDATE bundle_download SET actor = $2 WHERE actor = ANY($1::text[])", subject_ids, ERASED)
    await conn.execute(
        """UPDATE subject_request SET
               submitted_by = CASE WHEN submitted_by = ANY($1::text[]) THEN $2 ELSE submitted_by END,
               decided_by = CASE WHEN decided_by = ANY($1::text[]) THEN $2 ELSE decided_by END
           WHERE submitted_by = ANY($1::text[]) OR decided_by = ANY($1::text[])""",
        subject_ids, ERASED)
    await conn.execute(
        """UPDATE subject_request SET subject_id = NULL, details = '', rectification = NULL,
               refusal_explanation = NULL, extension_reason = NULL,
               outcome = outcome - $2::text[], updated_at = now()
           WHERE id = ANY($1::uuid[])""",
        cases, DEIDENTIFIED_OUTCOME_DROPS)
    return len(cases)
