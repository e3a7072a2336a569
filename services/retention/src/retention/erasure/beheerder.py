"""A Beheerder may start an erasure job only for a participant of their own tenant (O1, O23).

Training-records knows which tenant a person belongs to; it is asked over HTTP with a
service token (`retention.erasure.tenancy`), so the rule holds whatever tenant the Beheerder's
request claims.
"""

from __future__ import annotations

from privacy_kit.auth import Principal, forbidden
from privacy_kit.errors import ApiError
from privacy_kit.settings import ServiceSettings
from retention.erasure.models import ErasureJobCreate
from retention.erasure.tenancy import TenantUnresolved, subject_person
from retention.i18n import tr


async def check_beheerder_erasure(
    principal: Principal, request: ErasureJobCreate, settings: ServiceSettings
) -> None:
    if request.scope != "subject" or request.subject_id is None:
        raise forbidden(tr("A Beheerder can erase one participant of their own organisation; "
                           "tenant and category erasures are for platform staff."))
    try:
        person = await subject_person(settings, request.subject_id)
    except TenantUnresolved as exc:
        raise ApiError(503, "training_records_unavailable",
                       tr("Cannot check whose participant this is right now; try again shortly."),
                       headers={"Retry-After": "5"}) from exc
    if (person is None or person.get("kind") != "participant"
            or person.get("tenant_id") != principal.tenant):
        raise forbidden(tr("This is not a participant of your organisation."))
