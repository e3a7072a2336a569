"""Who may reach which person's records, and the access log of every read by someone else."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg
from fastapi import Request

from privacy_kit.access_log import access_reason, log_read, route_of
from privacy_kit.auth import Principal, check_tenant, forbidden, same_id
from privacy_kit.errors import ApiError
from training_records.i18n import tr


def is_self(principal: Principal, person_id: uuid.UUID) -> bool:
    return same_id(principal.sub, person_id)


def check_registrar(principal: Principal, tenant_id: uuid.UUID, what: str) -> None:
    """People and assignments of a tenant are written by its Beheerders or an operator."""
    check_tenant(principal, tenant_id)
    if not (principal.has("beheerder") or principal.has("operator")):
        raise forbidden(f"Only a Beheerder of this organisation or an operator {what}.")


@dataclass(frozen=True)
class Reader:
    """How the caller reaches a person: as the person themself, their Beheerder, or staff."""

    principal: Principal
    as_self: bool
    as_beheerder: bool

    @property
    def is_other(self) -> bool:
        return not self.as_self


def reach_person(
    principal: Principal, tenant_id: uuid.UUID, person_id: uuid.UUID, *, beheerder: bool = True
) -> Reader:
    """A participant reaches only themself; a Beheerder their tenant's people; staff everyone."""
    check_tenant(principal, tenant_id)
    if is_self(principal, person_id):
        return Reader(principal, as_self=True, as_beheerder=False)
    if principal.is_staff:
        return Reader(principal, as_self=False, as_beheerder=False)
    if beheerder and principal.has("beheerder"):
        return Reader(principal, as_self=False, as_beheerder=True)
    raise forbidden("You can only reach your own records.")


async def beheerder_sees(
    conn: asyncpg.Connection, principal: Principal, tenant_id: uuid.UUID,
    person_ids: Iterable[uuid.UUID],
) -> set[uuid.UUID]:
    """O2: which of these participants a Beheerder sees in full: all of them when the tenant
    chose one shared view (`beheerder_view = 'shared'`); otherwise those they or a Beheerder of
    their team registered or assigned a training to. Staff and the person see everything."""
    ids = list(person_ids)
    if not ids or principal.is_staff:
        return set(ids)
    rows = await conn.fetch(
        """WITH me AS (
               SELECT team FROM person
               WHERE tenant_id = $1 AND kind = 'beheerder' AND id::text = $2),
           assigners AS (
               SELECT $2::text AS sub
               UNION SELECT p.id::text FROM person p, me
               WHERE p.tenant_id = $1 AND p.kind = 'beheerder' AND p.team = me.team)
           SELECT p.id FROM person p
           WHERE p.tenant_id = $1 AND p.id = ANY($3::uuid[]) AND (
               (SELECT beheerder_view FROM tenant WHERE id = $1) = 'shared'
               OR p.created_by IN (SELECT sub FROM assigners)
               OR EXISTS (SELECT 1 FROM assignment a
                          WHERE a.tenant_id = $1 AND a.participant_id = p.id
                            AND a.assigned_by IN (SELECT sub FROM assigners)))""",
        tenant_id, principal.sub, ids)
    return {r["id"] for r in rows}


def not_assigned() -> ApiError:
    return ApiError(403, "not_assigned", tr(
        "You see the profile and results only of participants you or your team registered or "
        "assigned a training to; of others only name and status. Assign them a training, or "
        "ask the operator to give your organisation one shared view."))


def purpose_of(principal: Principal) -> str:
    """Why this reader reads here (O3): the role decides the purpose; staff add their reason."""
    if principal.is_staff:
        return "platform support or supervision (staff, with the stated reason)"
    if principal.has("beheerder"):
        return "training administration by the organisation (Beheerder)"
    if principal.has("service"):
        return f"service call from {principal.sub}"
    return "reading as a participant"


async def log_reads(
    conn: asyncpg.Connection,
    *,
    principal: Principal,
    request: Request,
    tenant_id: uuid.UUID | None,
    subject_ids: Iterable[uuid.UUID],
    what: str,
) -> None:
    """Record that `principal` read `what` of each subject (O3, O19: the recipients), in the
    kit's access log; staff without an `X-Access-Reason` are refused (400) here."""
    reason = access_reason(request, principal)  # staff: refused even for an empty page
    subjects = list(subject_ids)
    if not subjects:
        return
    await log_read(conn, principal=principal, route=route_of(request),
                   purpose=purpose_of(principal), subjects=subjects, tenant_id=tenant_id,
                   what=what, reason=reason)


def restricted_write() -> ApiError:
    return ApiError(
        409,
        "restricted",
        "This person's processing is restricted (GDPR art. 18): their records cannot be "
        "changed until the restriction is lifted.",
    )


def restricted_read() -> ApiError:
    return ApiError(
        403,
        "restricted",
        "This person's processing is restricted (GDPR art. 18): only the fact of restriction "
        "is shown to their organisation until it is lifted.",
    )


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")
