from __future__ import annotations

from typing import Any

import asyncpg

from privacy_kit.db import rows_affected
from privacy_kit.protocol import RetentionRule
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider


class BreachProvider(PrivacyProvider):
    store = "breach"

    def inventory(self) -> list[DataCategory]:
        return [
            DataCategory(
                name="breach_affected_subjects",
                fields=["subject_id", "tenant_id"],
                purpose="Register breaches and notify affected organisations and people (O26-O28)",
                legal_basis="legal obligation (GDPR Art. 33-34)",
                retention=RetentionRule(period="P0D", clock="account_closed"),
                retention_rule="until the person's erasure; per-tenant counts stay in the register",
                recipients=["the affected client organisation", "Autoriteit Persoonsgegevens"],
                data_subjects=["participants", "Beheerders", "website visitors"],
            ),
            DataCategory(
                name="breach_register",
                fields=["title", "facts", "effects", "measures", "registered_by"],
                purpose="Document every breach (GDPR Art. 33(5))",
                legal_basis="legal obligation (GDPR Art. 33(5))",
                retention=RetentionRule(period="P5Y", clock="record_created"),
                retention_rule="kept as evidence for the supervisory authority, five years",
                recipients=["Autoriteit Persoonsgegevens", "auditors"],
                data_subjects=["reporters (platform staff)"], role="controller",
            ),
        ]

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        rows = await conn.fetch(
            """SELECT b.id, b.title, b.discovered_at, a.tenant_id
               FROM breach_affected_subject a JOIN breach b ON b.id = a.breach_id
               WHERE a.subject_id = $1""",
            subject_id,
        )
        return {"breaches_affecting_you": [dict(r) for r in rows],
                "purpose": self.inventory()[0].purpose, "source": "the platform's breach register"}

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        if scope.kind == "subject" and scope.subject_id:
            status = await conn.execute(
                "DELETE FROM breach_affected_subject WHERE subject_id = $1", scope.subject_id
            )
        elif (scope.kind == "tenant" and scope.tenant_id
              and "breach_affected_subjects" not in scope.held_categories):
            status = await conn.execute(
                "DELETE FROM breach_affected_subject WHERE tenant_id = $1"
                " AND NOT (subject_id = ANY($2::text[]))",
                scope.tenant_id, scope.held_subject_ids,
            )
        else:
            return {}
        return {"breach_affected_subjects": rows_affected(status)}
