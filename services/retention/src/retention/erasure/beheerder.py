"""A Beheerder may start an erasure job only for a participant of their own tenant (O1, O23).

Training-records knows which tenant a person belongs to; it is asked over HTTP with a
service token, so the rule holds whatever tenant the Beheerder's request claims.
"""

from __future__ import annotations

import httpx

from privacy_kit.auth import Principal, forbidden, mint_service_token
from privacy_kit.calls import service_client
from privacy_kit.errors import ApiError
from privacy_kit.settings import ServiceSettings
from retention.erasure.models import ErasureJobCreate
from retention.i18n import tr


async def check_beheerder_erasure(
    principal: Principal, request: ErasureJobCreate, settings: ServiceSettings
) -> None:
    if request.scope != "subject" or request.subject_id is None:
        raise forbidden(tr("A Beheerder can erase one participant of their own organisation; "
                           "tenant and category erasures are for platform staff."))
    url = f"{settings.training_records_url}/internal/subjects/{request.subject_id}/tenant"
    try:
        answer = await service_client().get(
            url, headers={"Authorization": f"Bearer {mint_service_token(settings)}"})
    except httpx.HTTPError as exc:
        raise ApiError(503, "training_records_unavailable",
                       tr("Cannot check whose participant this is right now; try again shortly."),
                       headers={"Retry-After": "5"}) from exc
    if answer.status_code == 404:
        raise forbidden(tr("This is not a participant of your organisation."))
    if answer.status_code != 200:
        raise ApiError(503, "training_records_unavailable",
                       tr("Cannot check whose participant this is right now; try again shortly."),
                       headers={"Retry-After": "5"})
    person = answer.json()
    if person.get("kind") != "participant" or person.get("tenant_id") != principal.tenant:
        raise forbidden(tr("This is not a participant of your organisation."))
