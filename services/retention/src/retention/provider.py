"""What retention itself holds on a person: the subject ids of erasure jobs and legal holds."""

from __future__ import annotations

from typing import Any

import asyncpg

from privacy_kit.db import rows_affected
from privacy_kit.protocol import RetentionRule
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider


class RetentionProvider(PrivacyProvider):
    store = "retention"

    def inventory(self) -> list[DataCategory]:
        return [
            DataCategory(
                name="erasure_jobs",
                fields=["subject_id (until the job completes)", "subject_hash", "tenant_id",
                        "reason", "counts per store"],
                purpose="Carry out and prove erasure (GDPR Art. 17, accountability Art. 5(2))",
                legal_basis="legal obligation (Art. 6(1)(c))",
                retention=RetentionRule(period="P0D", clock="request_handled"),
                retention_rule="subject id until the job completes; the certificate, which names "
                               "no one, is kept as proof",
                recipients=["the platform's DPO", "the client organisation (controller)"],
                data_subjects=["participants", "Beheerders", "website visitors", "customers"],
            ),
            DataCategory(
                name="legal_holds",
                fields=["subject_id", "tenant_id", "reason", "placed_by", "released_by"],
                purpose="Keep data under a legal request, investigation or claim (O17)",
                legal_basis="legal obligation (Art. 6(1)(c)) / legal claims (Art. 17(3)(e))",
                retention=RetentionRule(period="P0D", clock="account_closed"),
                retention_rule="until released; released holds are erased with the subject",
                recipients=["the platform's DPO"],
                data_subjects=["participants", "Beheerders", "customers"],
            ),
        ]

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        jobs = await conn.fetch(
            "SELECT id, scope, reason, status, created_at FROM erasure_job WHERE subject_id = $1",
            subject_id,
        )
        holds = await conn.fetch(
            "SELECT id, reason, placed_at, released_at FROM legal_hold WHERE subject_id = $1",
            subject_id,
        )
        return {
            "erasure_jobs": [dict(r) for r in jobs],
            "legal_holds": [dict(r) for r in holds],
            "purpose": self.inventory()[0].purpose,
            "source": "the platform's retention engine",
        }

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        if scope.kind == "subject" and scope.subject_id:
            # The running job keeps the id until it completes; earlier completed ones are cleared.
            jobs = await conn.execute(
                "UPDATE erasure_job SET subject_id = NULL WHERE subject_id = $1 AND status = 'completed'",
                scope.subject_id,
            )
            holds = await conn.execute(
                "DELETE FROM legal_hold WHERE subject_id = $1 AND released_at IS NOT NULL",
                scope.subject_id,
            )
            return {"erasure_jobs": rows_affected(jobs), "legal_holds": rows_affected(holds)}
        if scope.kind == "tenant" and scope.tenant_id:
            holds = await conn.execute(
                "DELETE FROM legal_hold WHERE tenant_id = $1 AND released_at IS NOT NULL",
                scope.tenant_id,
            )
            return {"legal_holds": rows_affected(holds)}
        return {}
