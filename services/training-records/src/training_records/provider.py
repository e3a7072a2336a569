"""The privacy-provider contract for training records: inventory, export, erase, restrict."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from privacy_kit.access_log import subject_reads
from privacy_kit.protocol import RetentionRule
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider, TenantRecord
from training_records import erasure
from training_records.participants.service import set_restriction, to_read
from training_records.settings import Settings

TENANT_CONTROLLER = "the client organisation (controller) and its Beheerders"

PARTICIPANTS = ["participants (Deelnemers) of client organisations"]
WHILE_ACCOUNT = RetentionRule(period="P0D", clock="account_closed", action="destroy")
USAGE = RetentionRule(period="P180D", clock="last_activity", action="destroy")

CATEGORIES = [
    DataCategory(
        name="tenant", fields=["name", "contract_state", "special_data_agreement"],
        purpose="administer the client organisations the platform serves (O1)",
        legal_basis="contract (processor agreement)",
        retention=RetentionRule(period="P0D", clock="contract_ended", action="destroy"),
        retention_rule="contract-term: until the contract ends and the tenant is erased (O18)",
        recipients=["platform operators"], personal=False,
        data_subjects=["client organisations"], role="controller",
    ),
    DataCategory(
        name="participant_profile",
        fields=["name", "email", "birth_date", "address", "phone", "company", "preferences",
                "parental_consent"],
        purpose="give participants the trainings their organisation assigned (O4)",
        legal_basis="contract / legitimate interest of the controller (the tenant)",
        retention=WHILE_ACCOUNT,
        retention_rule="while-account-exists: erased with the account (O15, O25)",
        recipients=[TENANT_CONTROLLER, "platform operators and DPO"],
        data_subjects=PARTICIPANTS,
    ),
    DataCategory(
        name="career",
        fields=["education", "work_history"],
        purpose="match trainings to a participant's background (O4)",
        legal_basis="consent of the participant, on behalf of the controller",
        retention=WHILE_ACCOUNT,
        retention_rule="while-account-exists: erased with the account (O15)",
        recipients=[TENANT_CONTROLLER], data_subjects=PARTICIPANTS,
    ),
    DataCategory(
        name="beheerder_profile", fields=["name", "email", "phone"],
        purpose="let a client organisation's coordinators assign and follow trainings (O1)",
        legal_basis="contract",
        retention=WHILE_ACCOUNT, retention_rule="while-account-exists",
        recipients=["platform operators"],
        data_subjects=["Beheerders (coordinators) of client organisations"], role="controller",
    ),
    DataCategory(
        name="expert_profile", fields=["name", "email", "public_profile"],
        purpose="show subject-matter experts' public profile to customers (O2)",
        legal_basis="contract with the expert",
        retention=WHILE_ACCOUNT, retention_rule="while-account-exists",
        recipients=["customers (public profile only, never the e-mail)"],
        data_subjects=["subject-matter experts"], role="controller",
    ),
    DataCategory(
        name="training_history",
        fields=["assignments (training, assigned_by, assigned_at, due_date)",
                "module progress (started, completed, time spent)", "results (score, passed)"],
        purpose="run the training and report results to the organisation that assigned it (O2)",
        legal_basis="contract / legitimate interest of the controller (the tenant)",
        retention=RetentionRule(period="P0D", clock="account_closed", action="anonymise"),
        retention_rule="while-account-exists: training history goes with the account (O15, "
                       "O25); then only anonymous per-training and per-module aggregates stay, "
                       "nothing of people who opted out (O16, O13)",
        recipients=[TENANT_CONTROLLER + " that assigned the training"],
        data_subjects=PARTICIPANTS,
    ),
    DataCategory(
        name="login_times", fields=["logged_in_at"],
        purpose="show activity to the participant and their organisation; security",
        legal_basis="legitimate interest",
        retention=USAGE,
        retention_rule="usage-data: at most 180 days after it is no longer needed (O15)",
        recipients=[TENANT_CONTROLLER], data_subjects=PARTICIPANTS,
    ),
    DataCategory(
        name="certificates", fields=["training", "issued_at", "verification_code"],
        purpose="prove a completed training; anyone holding the code may verify it",
        legal_basis="contract",
        retention=WHILE_ACCOUNT, retention_rule="while-account-exists (O15)",
        recipients=["the participant", TENANT_CONTROLLER, "verifiers holding the code"],
        data_subjects=PARTICIPANTS,
    ),
    DataCategory(
        name="erased_certificates", fields=["code_hash", "training", "issued_at", "erased_at"],
        purpose="let a verifier learn that a certificate was genuine after its holder's data "
                "was erased; nothing in it points back to the person",
        legal_basis="legitimate interest (the holder's own proof of training stays checkable)",
        retention_rule="kept: not personal data",
        recipients=["verifiers holding the code"],
        personal=False,
    ),
    DataCategory(
        name="rectification_history", fields=["field", "old_value", "new_value", "changed_by"],
        purpose="show what was corrected, when and by whom (O24, O3)",
        legal_basis="legal obligation (accountability, GDPR art. 5(2))",
        retention=WHILE_ACCOUNT, retention_rule="while-account-exists",
        recipients=["the participant", "platform DPO"],
        data_subjects=[*PARTICIPANTS, "Beheerders", "subject-matter experts"],
    ),
    DataCategory(
        name="access_log",
        fields=["actor", "actor_roles", "purpose", "what", "reason", "route", "read_at"],
        purpose="attribute every read of personal data; tell the person who saw it (O3, O19)",
        legal_basis="legal obligation (accountability, GDPR art. 5(2))",
        retention=USAGE, retention_rule="logs: 180 days after the read (O15)",
        recipients=["the participant (as the list of recipients)", "platform DPO"],
        data_subjects=[*PARTICIPANTS, "Beheerders and staff who read the data"],
    ),
    DataCategory(
        name="anonymisation_opt_out", fields=["subject_id", "opted_out"],
        purpose="honour a person's wish that not even anonymised data of theirs is kept (O13)",
        legal_basis="legal obligation",
        retention=WHILE_ACCOUNT,
        retention_rule="while-account-exists; applied at erasure, then erased",
        recipients=[], data_subjects=PARTICIPANTS,
    ),
    DataCategory(
        name="training_benchmark",
        fields=["participants", "scored", "score_sum", "passed", "per module: started, "
                "scored, completed, time spent"],
        purpose="anonymous benchmarks per training and module (O16)",
        legal_basis="legitimate interest (statistics on anonymised data)",
        retention_rule="anonymous: kept; sums only over groups of at least the minimum "
                       "(5 people), smaller groups as a count only",
        recipients=["customers (per-training aggregates)"], personal=False,
    ),
    # O4: what the seeds name but another system holds, declared here so the register is
    # complete; `held_by` says where it lives. This store's erasure does not reach it.
    DataCategory(
        name="ip_address", fields=["client IP address"],
        purpose="limit the request rate per client and protect the platform against abuse",
        legal_basis="legitimate interest (network and information security, GDPR recital 49)",
        retention_rule="gateway: in memory for the rate limit's one-minute window, written "
                       "nowhere; proxy logs: the operator's log retention (at most 180 days, O15)",
        retention=USAGE,
        recipients=["platform operators"],
        data_subjects=["everyone who uses the platform or its website"], role="controller",
        held_by="the gateway's rate limiter (memory only) and the access logs of the reverse "
                "proxy or ingress in front of it; the suite's own logs carry route templates, "
                "never client addresses",
    ),
    DataCategory(
        name="account", fields=["username", "password hash", "sign-in factors", "last sign-in"],
        purpose="sign people in; the suite only sees the token's pseudonymous sub, tenant and "
                "roles",
        legal_basis="contract",
        retention_rule="while-account-exists: delete the account at the identity provider "
                       "when the person is erased (O25)",
        retention=WHILE_ACCOUNT,
        recipients=["platform operators"],
        data_subjects=[*PARTICIPANTS, "Beheerders, experts and staff"],
        held_by="the identity provider (the OIDC issuer whose tokens the gateway verifies)",
    ),
    DataCategory(
        name="communications",
        fields=["messages to the person (address, title, text)",
                "questions and answers exchanged with the platform"],
        purpose="answer questions and inform people: identity codes, breach notices, policy "
                "announcements (O19, O28, O14)",
        legal_basis="contract / legal obligation",
        retention_rule="messages: erased and exported with the person; questions: until "
                       "handled (O15)",
        retention=WHILE_ACCOUNT,
        recipients=["the person", "the mail server that delivers them"],
        data_subjects=[*PARTICIPANTS, "Beheerders, website visitors and customers"],
        role="controller",
        held_by="each service's message outbox (privacy_kit.messages) and the SMTP server it "
                "hands mail to; questions in the platform's support mailbox",
    ),
    DataCategory(
        name="payment_data",
        fields=["payment details", "bank account number (IBAN)", "invoices"],
        purpose="process and settle payments for trainings people buy themselves",
        legal_basis="contract; legal obligation for the financial records",
        retention_rule="statutory: 7 years for financial records (Dutch tax law, AWR art. 52; "
                       "O15)",
        retention=RetentionRule(period="P7Y", clock="record_created", action="destroy"),
        recipients=["payment provider", "accountant", "tax authority on request"],
        data_subjects=["people who buy trainings themselves", "customers"], role="controller",
        held_by="the platform's payment provider and bookkeeping system; never in the suite",
    ),
]

_PURPOSES = {c.name: c for c in CATEGORIES}


def _section(category: str, source: str, records: Any) -> dict[str, Any]:
    c = _PURPOSES[category]
    return {"purpose": c.purpose, "legal_basis": c.legal_basis, "retention": c.retention_rule,
            "source": source, "records": records}


def _rows(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        item = {}
        for key, value in row.items():
            if isinstance(value, str) and key in ("old_value", "new_value"):
                value = json.loads(value)
            item[key] = value
        out.append(item)
    return out


# What a tenant's export holds (O18): (category, table, query of one tenant's rows).
_PROFILE = "id, name, email, birth_date, address, phone, company, preferences, parental_consent,"\
           " restricted_at, created_at, updated_at"
_TENANT_EXPORT = (
    ("tenant", "tenant", "SELECT * FROM tenant WHERE id = $1"),
    ("participant_profile", "participant",
     f"SELECT {_PROFILE} FROM person WHERE tenant_id = $1 AND kind = 'participant' ORDER BY id"),
    ("career", "participant_career",
     """SELECT id AS participant_id, education, work_history FROM person
        WHERE tenant_id = $1 AND kind = 'participant'
          AND (education IS NOT NULL OR work_history IS NOT NULL) ORDER BY id"""),
    ("beheerder_profile", "beheerder",
     """SELECT id, name, email, phone, created_at, updated_at FROM person
        WHERE tenant_id = $1 AND kind = 'beheerder' ORDER BY id"""),
    ("training_history", "assignment",
     """SELECT a.id, a.participant_id, a.training_id, t.title AS training, a.assigned_by,
               a.assigned_at, a.due_date
        FROM assignment a JOIN training t ON t.id = a.training_id
        WHERE a.tenant_id = $1 ORDER BY a.participant_id, a.assigned_at"""),
    ("training_history", "module_progress",
     """SELECT p.participant_id, m.training_id, p.module_id, m.title AS module, p.started_at,
               p.completed_at, p.time_spent_s
        FROM module_progress p JOIN training_module m ON m.id = p.module_id
        WHERE p.tenant_id = $1 ORDER BY p.participant_id, m.training_id, m.position"""),
    ("training_history", "result",
     """SELECT id, participant_id, training_id, score, passed, recorded_at, recorded_by
        FROM result WHERE tenant_id = $1 ORDER BY participant_id, recorded_at"""),
    ("certificates", "certificate",
     """SELECT id, participant_id, training_id, verification_code, issued_at FROM certificate
        WHERE tenant_id = $1 ORDER BY participant_id, issued_at"""),
    ("login_times", "login",
     """SELECT participant_id, logged_in_at FROM login WHERE tenant_id = $1
        ORDER BY participant_id, logged_in_at"""),
    ("rectification_history", "rectification",
     """SELECT person_id, field, old_value, new_value, changed_by, changed_at
        FROM person_rectification WHERE tenant_id = $1 ORDER BY id"""),
    ("access_log", "access_log",
     """SELECT subject_id, actor_sub AS actor, actor_roles, purpose, what, reason, route, read_at
        FROM access_log WHERE tenant_id = $1::uuid::text ORDER BY id"""),
    ("anonymisation_opt_out", "anonymisation_opt_out",
     """SELECT o.subject_id, o.opted_out, o.changed_at FROM anonymisation_opt_out o
        JOIN person p ON p.id = o.subject_id WHERE p.tenant_id = $1 ORDER BY o.subject_id"""),
)


class TrainingRecordsProvider(PrivacyProvider):
    store = "training-records"
    # Its reads are a category of its own (retention rule, holds): exported as `recipients`
    # and erased by `erasure`, in the kit's table (privacy_kit.access_log).
    own_access_log = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def inventory(self) -> list[DataCategory]:
        return list(CATEGORIES)

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        try:
            sid = uuid.UUID(subject_id)
        except ValueError:
            return {}
        person = await conn.fetchrow("SELECT * FROM person WHERE id = $1", sid)
        if person is None:
            return {}
        profile = to_read(person).model_dump(mode="json")
        profile["kind"] = person["kind"]
        if person["public_profile"] is not None:
            profile["public_profile"] = json.loads(person["public_profile"])
        own = "the organisation that registered you, or you"
        fetch = conn.fetch
        return {
            "subject_id": subject_id,
            "kind": person["kind"],
            "restricted": person["restricted_at"] is not None,
            "anonymisation_opt_out": bool(await conn.fetchval(
                "SELECT opted_out FROM anonymisation_opt_out WHERE subject_id = $1", sid)),
            "participant_profile": _section("participant_profile", own, profile),
            "assignments": _section("training_history", "your organisation's Beheerder", _rows(
                await fetch("""SELECT a.id, a.training_id, t.title AS training, a.assigned_by,
                                      a.assigned_at, a.due_date
                               FROM assignment a JOIN training t ON t.id = a.training_id
                               WHERE a.participant_id = $1 ORDER BY a.assigned_at""", sid))),
            "progress": _section("training_history", "the training platform, as you learned",
                                 _rows(await fetch(
                """SELECT m.training_id, p.module_id, m.title AS module, p.started_at,
                          p.completed_at, p.time_spent_s
                   FROM module_progress p JOIN training_module m ON m.id = p.module_id
                   WHERE p.participant_id = $1 ORDER BY m.training_id, m.position""", sid))),
            "results": _section("training_history", "the training's assessments", _rows(
                await fetch("""SELECT id, training_id, score::float AS score, passed, recorded_at
                               FROM result WHERE participant_id = $1 ORDER BY recorded_at""",
                            sid))),
            "certificates": _section("certificates", "issued on completing a training", _rows(
                await fetch("""SELECT id, training_id, verification_code, issued_at
                               FROM certificate WHERE participant_id = $1 ORDER BY issued_at""",
                            sid))),
            "logins": _section("login_times", "the training platform", _rows(
                await fetch("""SELECT logged_in_at FROM login WHERE participant_id = $1
                               ORDER BY logged_in_at""", sid))),
            "rectifications": _section("rectification_history", "corrections made", _rows(
                await fetch("""SELECT field, old_value, new_value, changed_by, changed_at
                               FROM person_rectification WHERE person_id = $1 ORDER BY id""",
                            sid))),
            "recipients": _section("access_log", "this service's access log",
                                   await subject_reads(conn, subject_id)),
        }

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        return await erasure.erase(conn, scope, self.settings)

    async def export_tenant(
        self, conn: asyncpg.Connection, tenant_id: str
    ) -> AsyncIterator[TenantRecord]:
        try:
            tid = uuid.UUID(tenant_id)
        except ValueError:
            return  # not one of ours: our tenant ids are uuids
        for category, table, sql in _TENANT_EXPORT:
            async for row in conn.cursor(f"SELECT row_to_json(r)::text AS j FROM ({sql}) r",
                                         tid, prefetch=2000):
                yield TenantRecord(category, table, row["j"])

    async def restrict(self, conn: asyncpg.Connection, subject_id: str) -> None:
        await self._restriction(conn, subject_id, restricted=True)

    async def lift(self, conn: asyncpg.Connection, subject_id: str) -> None:
        await self._restriction(conn, subject_id, restricted=False)

    async def _restriction(self, conn: asyncpg.Connection, subject_id: str, *,
                           restricted: bool) -> None:
        try:
            sid = uuid.UUID(subject_id)
        except ValueError:
            return  # not one of ours: our ids are uuids
        await set_restriction(conn=conn, person_id=sid, restricted=restricted,
                              actor="subject.restricted event")
