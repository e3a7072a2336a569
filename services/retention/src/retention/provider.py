"""What retention itself holds on a person: the subject ids of erasure jobs and legal holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from privacy_kit.db import rows_affected
from privacy_kit.protocol import RetentionRule
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider, TenantRecord
from retention.termination import exports


class RetentionProvider(PrivacyProvider):
    store = "retention"

    def inventory(self) -> list[DataCategory]:
        return [
            DataCategory(
                name="erasure_jobs",
                fields=["subject_id (until the job completes)", "subject_hash", "tenant_id",
                        "reason (free text, until the job completes)", "reason_code",
                        "reference", "counts per store"],
                purpose="Carry out and prove erasure (GDPR Art. 17, accountability Art. 5(2))",
                legal_basis="legal obligation (Art. 6(1)(c))",
                retention=RetentionRule(period="P0D", clock="request_handled"),
                retention_rule="subject id until the job completes; the certificate, which names "
                               "no one, is kept as proof",
                recipients=["the platform's DPO", "the client organisation (controller)"],
                data_subjects=["participants", "Beheerders", "website visitors", "customers"],
            ),
            DataCategory(
                name="erasure_log",
                fields=["subject_hash", "subject id encrypted with REPLAY_KEY",
                        "tenant_id", "scope", "completed_at"],
                purpose="Apply an erasure again after a store is restored from a backup, so "
                        "that an erased person never comes back (O25)",
                legal_basis="legal obligation (Art. 6(1)(c), Art. 17 and 5(2))",
                retention_rule="encrypted id for REPLAY_WINDOW_DAYS (the backup retention), "
                               "then only the hash; not erased with the subject, which would "
                               "defeat its purpose",
                recipients=["the platform's operators (replay)"],
                data_subjects=["participants", "Beheerders", "website visitors", "customers"],
                retention=RetentionRule(period="P35D", clock="record_created"),
            ),
            DataCategory(
                name="contract_terminations",
                fields=["tenant_id", "end_date", "recorded_by", "erasure certificate"],
                purpose="End a client's contract: hand over its data, then erase it (O18)",
                legal_basis="contract (processor agreement, GDPR Art. 28(3)(g))",
                retention_rule="kept as proof of the tenant's erasure; the people who acted "
                               "are forgotten with the tenant",
                recipients=["the client organisation's Beheerders", "platform operators"],
                data_subjects=["Beheerders", "platform operators"],
                retention=RetentionRule(period="P7Y", clock="contract_ended"),
            ),
            DataCategory(
                name="tenant_exports",
                fields=["the archive of a tenant's data from every store", "downloaded_by"],
                purpose="Hand a client organisation its data at the end of its contract (O18)",
                legal_basis="contract (processor agreement, GDPR Art. 28(3)(g))",
                retention_rule="TENANT_EXPORT_TTL_S after it is ready, and never past the "
                               "tenant's erasure",
                recipients=["the client organisation's Beheerders"],
                data_subjects=["participants", "Beheerders"],
                retention=RetentionRule(period="P7D", clock="record_created"),
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
            DataCategory(
                name="client_audits",
                fields=["tenant_id", "auditor", "findings", "follow_up", "recorded_by"],
                purpose="Record the audits a client organisation had held of the platform and "
                        "their follow-up (O29, processor agreement §10)",
                legal_basis="contract (processor agreement) / GDPR Art. 28(3)(h)",
                retention=RetentionRule(period="P0D", clock="contract_ended"),
                retention_rule="while the contract lasts; erased with the client organisation",
                recipients=["the client organisation's Beheerders", "the platform's DPO"],
                data_subjects=["auditors", "the platform's staff who recorded the audits"],
                role="controller",
            ),
        ]

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        jobs = await conn.fetch(
            """SELECT id, scope, reason, reason_code, reference, status, created_at
               FROM erasure_job WHERE subject_id = $1""",
            subject_id,
        )
        holds = await conn.fetch(
            "SELECT id, ground, reference, reason, placed_at, released_at FROM legal_hold "
            "WHERE subject_id = $1",
            subject_id,
        )
        stopped = await conn.fetch(
            "SELECT id, reason_code, trigger, asked_at FROM stopped_erasure WHERE subject_id = $1",
            subject_id,
        )
        return {
            "erasure_jobs": [dict(r) for r in jobs],
            "legal_holds": [dict(r) for r in holds],
            "erasures_stopped_by_a_hold": [dict(r) for r in stopped],
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
            # O6: a stopped erasure is settled once the person is erased after all.
            await conn.execute("DELETE FROM stopped_erasure WHERE subject_id = $1",
                               scope.subject_id)
            return {"erasure_jobs": rows_affected(jobs), "legal_holds": rows_affected(holds)}
        if scope.kind == "tenant" and scope.tenant_id:
            holds = await conn.execute(
                "DELETE FROM legal_hold WHERE tenant_id = $1 AND released_at IS NOT NULL",
                scope.tenant_id,
            )
            exported = await exports.erase_tenant(conn=conn, tenant_id=scope.tenant_id)
            if "client_audits" in scope.held_categories:
                return {"legal_holds": rows_affected(holds), "client_audits": 0, **exported}
            audits = await conn.execute("DELETE FROM client_audit WHERE tenant_id = $1",
                                        scope.tenant_id)
            return {"legal_holds": rows_affected(holds), "client_audits": rows_affected(audits),
                    **exported}
        return {}

    async def export_tenant(
        self, conn: asyncpg.Connection, tenant_id: str
    ) -> AsyncIterator[TenantRecord]:
        for category, table, sql in (
            ("contract_terminations", "contract_termination",
             """SELECT id, tenant_id, end_date, ends_at, erase_after, reference, status,
                       recorded_at FROM contract_termination WHERE tenant_id = $1
                ORDER BY recorded_at"""),
            ("legal_holds", "legal_hold",
             """SELECT id, subject_id, reason, placed_at, released_at FROM legal_hold
                WHERE tenant_id = $1 ORDER BY placed_at"""),
            ("erasure_jobs", "erasure_job",
             """SELECT id, scope, subject_hash, category, reason_code, reference, status,
                       created_at, completed_at, certificate FROM erasure_job
                WHERE tenant_id = $1 ORDER BY created_at"""),
        ):
            async for row in conn.cursor(f"SELECT row_to_json(r)::text AS j FROM ({sql}) r",
                                         tenant_id, prefetch=500):
                yield TenantRecord(category, table, row["j"])
