"""Addresses for other services that write to people (O14: consent announcing a policy change).

Only with a service token, never through the gateway. Each address given out is written to the
person's access log with the reason the caller named, so it shows in their export (O3, O19).
People whose processing is restricted (Art. 18) are left out.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from privacy_kit.access_log import log_read_rows, route_of
from privacy_kit.app import DbConn
from privacy_kit.auth import ServiceCaller

router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)


class ContactQuery(BaseModel):
    subject_ids: list[str] = Field(max_length=1000)
    purpose: str = Field(min_length=1, max_length=200, description="Why the caller writes.")


class Contact(BaseModel):
    subject_id: str
    tenant_id: str | None
    name: str
    email: str


class Contacts(BaseModel):
    contacts: list[Contact]


def _uuids(values: list[str]) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue  # not one of ours
    return found


@router.post("/contact-addresses")
async def contact_addresses(
    body: ContactQuery, request: Request, conn: DbConn, caller: ServiceCaller
) -> Contacts:
    async with conn.transaction():
        rows = await conn.fetch(
            """SELECT id, tenant_id, name, email FROM person
               WHERE id = ANY($1::uuid[]) AND restricted_at IS NULL ORDER BY id""",
            _uuids(body.subject_ids))
        await log_read_rows(conn, principal=caller, route=route_of(request),
                            purpose=f"mail to the person: {body.purpose}",
                            what=f"e-mail address: {body.purpose}",
                            reads=[(r["id"], r["tenant_id"]) for r in rows])
    return Contacts(contacts=[
        Contact(subject_id=str(r["id"]), tenant_id=str(r["tenant_id"]) if r["tenant_id"] else None,
                name=r["name"], email=r["email"]) for r in rows])
