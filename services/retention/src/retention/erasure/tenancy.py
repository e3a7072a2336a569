"""Whose participant is this? (O17, O23) Training-records knows which tenant a person belongs
to; retention asks it with a service token when a subject job is made, so a legal hold on the
tenant also holds the erasure of each of its people, and a Beheerder erases only a participant
of their own tenant.

Asked over HTTP rather than kept as a replicated mapping: the answer is current (a person
registered a second ago is found) and retention keeps no copy of who belongs where. When
training-records itself asks for an erasure (`subject.erasure_requested`: an under-16 without
parental consent, accounts a sweep ended) its request names the tenant, and that is used.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx

from privacy_kit.auth import mint_service_token
from privacy_kit.calls import service_client
from privacy_kit.settings import ServiceSettings

log = logging.getLogger(__name__)


TRAINING_RECORDS = "training-records"


class TenantUnresolved(Exception):
    """Training-records could not be asked (down, slow, or an unexpected answer)."""


async def subject_person(settings: ServiceSettings, subject_id: str) -> dict[str, Any] | None:
    """What training-records says of a person (`kind`, `tenant_id`), or None when it holds no
    such person (e.g. a visitor known only to consent, or a person already erased there)."""
    url = f"{settings.training_records_url}/internal/subjects/{quote(subject_id, safe='')}/tenant"
    headers = {"Authorization": f"Bearer {mint_service_token(settings)}"}
    try:
        try:
            answer = await service_client().get(url, headers=headers)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            # A pooled connection training-records closed as it went idle (its keep-alive ran
            # out just as the request was sent): a read, so asked once more on a fresh one.
            answer = await service_client().get(url, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("training-records could not say whose participant a subject is: %r", exc)
        raise TenantUnresolved(f"{type(exc).__name__}") from exc
    if answer.status_code in (404, 422):
        return None
    if answer.status_code != 200:
        log.warning("training-records answered HTTP %d on whose participant a subject is",
                    answer.status_code)
        raise TenantUnresolved(f"HTTP {answer.status_code}")
    person: dict[str, Any] = answer.json()
    return person


async def subject_tenant(settings: ServiceSettings, subject_id: str) -> str | None:
    """The tenant of a participant (or Beheerder), or None when training-records holds no such
    person."""
    person = await subject_person(settings, subject_id)
    tenant = person.get("tenant_id") if person else None
    return str(tenant) if tenant else None


def known_tenant(tenant: str | None) -> Callable[[str], Awaitable[str | None]]:
    """A `tenant_of` that answers what is already known: what training-records said a moment
    ago (a view asks before it takes a connection), or what it wrote in its own request."""
    async def tenant_of(_subject_id: str) -> str | None:
        return tenant
    return tenant_of
