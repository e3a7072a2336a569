"""Who sees a case and who decides it (O1, O23)."""

from __future__ import annotations

import hmac

import asyncpg

from privacy_kit.auth import Principal, forbidden
from privacy_kit.errors import ApiError
from subject_rights.cases.service import subject_hash
from subject_rights.i18n import tr
from subject_rights.settings import Settings


def is_subject(principal: Principal, row: asyncpg.Record, settings: Settings) -> bool:
    """The person the case is about; after their erasure only the keyed hash still matches."""
    if row["subject_id"] is not None:
        return principal.sub == row["subject_id"]
    return bool(row["subject_hash"]) and hmac.compare_digest(
        row["subject_hash"], subject_hash(settings.case_secret, principal.sub))


def is_tenant_beheerder(principal: Principal, row: asyncpg.Record) -> bool:
    return (principal.has("beheerder") and row["tenant_id"] is not None
            and principal.tenant == row["tenant_id"])


def check_can_see(principal: Principal, row: asyncpg.Record, settings: Settings) -> None:
    """The person, their organisation's Beheerders for a tenant's case, platform staff."""
    if principal.is_staff or is_subject(principal, row, settings) or is_tenant_beheerder(
            principal, row):
        return
    raise forbidden(tr("This request is not yours to see."))


def check_controller(
    principal: Principal, row: asyncpg.Record, instruction_reference: str | None
) -> str:
    """Who decides: for a tenant's participant that tenant's Beheerder (the platform is only its
    processor, O1/O23), or the platform's DPO recording the tenant's written instruction; for
    the platform's own users the platform's DPO. Returns the role the decider acts in."""
    if row["tenant_id"] is not None:
        if is_tenant_beheerder(principal, row):
            return "beheerder"
        if principal.has("dpo"):
            if not instruction_reference:
                raise ApiError(
                    403, "tenant_decides",
                    tr("This is a request of a client organisation's participant: the "
                       "organisation decides (the platform is its processor). The platform's DPO "
                       "can act only on its written instruction; name it in "
                       "'instruction_reference'."))
            return "dpo"
        raise forbidden(tr("Only a Beheerder of the person's organisation decides this request."))
    if principal.has("dpo"):
        return "dpo"
    raise forbidden(tr("Requests of the platform's own users are decided by the platform's DPO."))
