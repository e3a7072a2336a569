"""Internal: which tenant each subject belongs to, for the breach register (O27, O28).

`POST /internal/subjects/tenants` (service token only, never routed by the gateway) answers, for
a batch of subject ids, the ids of each tenant (`subjects_by_tenant`), those of people of no
tenant such as experts (`subjects_without_tenant`), and the ids no one here knows; for named tenant ids, how many participants each has and which are
unknown. With `contacts`, it also gives each person's e-mail address (for a breach notice to
them, Art. 34) and writes that read to the person's access log.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from privacy_kit.access_log import log_read_rows
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
) -> Response:
    subject_ids, unknown = _uuids(body.subject_ids)
    rows = await conn.fetch(
        "SELECT id, tenant_id, CASE WHEN $2 THEN email END AS email FROM person"
        " WHERE id = ANY($1::uuid[])",
        subject_ids, body.contacts,
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
    by_tenant: dict[str, list[str]] = {}
    without_tenant: list[str] = []
    for subject, row in found.items():
        if row["tenant_id"] is None:
            without_tenant.append(subject)
        else:
            by_tenant.setdefault(str(row["tenant_id"]), []).append(subject)
    answer: dict[str, Any] = {
        "subjects_by_tenant": by_tenant,
        "subjects_without_tenant": without_tenant,
        "unknown_subjects": unknown,
        "participants_of": participants,
        "unknown_tenants": unknown_tenants,
    }
    if body.contacts and found:
        answer["email_of"] = {s: r["email"] for s, r in found.items()}
        await log_read_rows(conn, principal=caller, route="POST /internal/subjects/tenants",
                            purpose=CONTACT_READ, what=CONTACT_READ,
                            reads=[(r["id"], r["tenant_id"]) for r in found.values()])
    # Serialised here: FastAPI's generic encoder walks every item of a 20,000-id answer.
    return Response(json.dumps(answer, separators=(",", ":")), media_type="application/json")
