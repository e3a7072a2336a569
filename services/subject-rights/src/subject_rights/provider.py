from __future__ import annotations

from typing import Any

import asyncpg

from privacy_kit.db import rows_affected
from privacy_kit.protocol import RetentionRule
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider


class SubjectRightsProvider(PrivacyProvider):
    store = "subject-rights"

    def inventory(self) -> list[DataCategory]:
        return [
            DataCategory(
                name="subject_requests",
                fields=["subject_id", "tenant_id", "kind", "details", "submitted_by"],
                purpose="Handle data subject requests within the legal term (GDPR Art. 12, 15-22)",
                legal_basis="legal obligation (Art. 6(1)(c))",
                retention=RetentionRule(period="P1Y", clock="request_handled"),
                retention_rule="a year after the request was handled, as proof that it was "
                               "answered in time (O21); with the person's erasure at the latest",
                recipients=["the client organisation's Beheerder (controller)", "the platform's DPO"],
                data_subjects=["participants", "website visitors", "customers"],
            )
        ]

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        rows = await conn.fetch(
            "SELECT id, kind, details, status, received_at, due_at FROM subject_request"
            " WHERE subject_id = $1 ORDER BY received_at",
            subject_id,
        )
        return {"requests": [dict(r) for r in rows], "purpose": self.inventory()[0].purpose,
                "source": "your own requests"}

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        if scope.kind == "subject" and scope.subject_id:
            status = await conn.execute(
                "DELETE FROM subject_request WHERE subject_id = $1", scope.subject_id
            )
        elif (scope.kind == "tenant" and scope.tenant_id
              and "subject_requests" not in scope.held_categories):
            status = await conn.execute(
                "DELETE FROM subject_request WHERE tenant_id = $1 AND NOT (subject_id = ANY($2::text[]))",
                scope.tenant_id, scope.held_subject_ids,
            )
        else:
            return {}
        return {"subject_requests": rows_affected(status)}
