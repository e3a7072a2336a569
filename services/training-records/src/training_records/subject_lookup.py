"""Internal: which tenant each subject belongs to, for the breach register (O27, O28).

`POST /internal/subjects/tenants` (service token only, never routed by the gateway) answers, for
a batch of subject ids, each one's tenant (null for people of no tenant, such as experts) and
the ids no one here knows; for named tenant ids, how many participants each has and which are
unknown. With `contacts`, it also gives each person's e-mail address (for a breach notice to
them, Art. 34) and writes that read to the person's access log.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from privacy_kit.auth import ServiceCaller
from privacy_kit.deps import DbConn

router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)

CONTACT_READ = "e-mail address, for a personal data breach notice (GDPR Art. 34)"


class SubjectTenantsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_ids: list[str] = Field(default_factory=list, max_length=20_000)
    tenant_ids: list[str] = Field(default_factory=list, max_length=5_000)
    contacts: bool = False


def _uuids(values: list[str]) -> tuple[list[uuid.UUID], list[str]]:
    good: list[uuid.UUID] = []
    bad: list[str] = []
    for value in values:
        try:
            good.append(uuid.UUID(value))
        except ValueError:
            bad.append(value)
    return good, bad


@router.post("/subjects/tenants")
async def subject_tenants(
    body: SubjectTenantsQuery, caller: ServiceCaller, conn: DbConn, request: Request
) -> dict[str, Any]:
    subject_ids, unknown = _uuids(body.subject_ids)
    rows = await conn.fetch(
        "SELECT id, tenant_id, email FROM person WHERE id = ANY($1::uuid[])", subject_ids
    )
    found = {str(r["id"]): r for r in rows}
    unknown += [str(s) for s in subject_ids if str(s) not in found]
    tenant_ids, unknown_tenants = _uuids(body.tenant_ids)
    counts = await conn.fetch(
        """SELECT t.id, count(p.id) AS participants FROM tenant t
           LEFT JOIN person p ON p.tenant_id = t.id AND p.kind = 'participant'
           WHERE t.id = ANY($1::uuid[]) GROUP BY t.id""",
        tenant_ids,
    )
    participants = {str(r["id"]): int(r["participants"]) for r in counts}
    unknown_tenants += [str(t) for t in tenant_ids if str(t) not in participants]
    answer: dict[str, Any] = {
        "tenant_of": {s: (str(r["tenant_id"]) if r["tenant_id"] else None) for s, r in found.items()},
        "unknown_subjects": unknown,
        "participants_of": participants,
        "unknown_tenants": unknown_tenants,
    }
    if body.contacts and found:
        answer["email_of"] = {s: r["email"] for s, r in found.items()}
        await conn.copy_records_to_table(
            "access_log",
            records=[(r["id"], r["tenant_id"], caller.sub, sorted(caller.roles), CONTACT_READ,
                      "POST /internal/subjects/tenants") for r in found.values()],
            columns=["subject_id", "tenant_id", "actor_sub", "actor_roles", "what", "route"],
        )
    return answer
