"""O6: one parental-consent record per child, kept by the consent service.

A Beheerder registering (or correcting) a participant under 16 sends the consent they checked
(`parental_consent`: method, verified_at, optionally a guardian reference). This store does not
keep its own copy: it asks consent to record it (service token, `POST /internal/subjects/{id}/
parental-consents`, the Beheerder named as verifier) and keeps only the id of consent's record,
`{"id", "recorded_in": "consent"}`. Staff see and add records in consent
(`/v1/subjects/{id}/parental-consents`); a consent grant by the child names the same record.
When consent cannot answer, the under-16 is not registered (503): no child without a record.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, time
from typing import Any

import httpx

from privacy_kit.auth import mint_service_token
from privacy_kit.calls import service_client
from privacy_kit.errors import ApiError
from privacy_kit.guards import AMSTERDAM
from training_records.participants.models import ParentalConsent
from training_records.settings import Settings

log = logging.getLogger(__name__)

RECORDED_IN = "consent"


async def record(
    settings: Settings, *, subject_id: uuid.UUID, consent: ParentalConsent, verified_by: str
) -> dict[str, Any]:
    """Record `consent` in consent; the reference this store keeps, with what consent holds."""
    verified_at = datetime.combine(consent.verified_at, time(), AMSTERDAM)
    body = {"verification_method": consent.method, "verified_at": verified_at.isoformat(),
            "guardian_reference": consent.guardian_reference or f"checked by {verified_by}",
            "verified_by": verified_by}
    try:
        response = await service_client().post(
            f"{settings.store_urls['consent']}/internal/subjects/{subject_id}/parental-consents",
            json=body, timeout=settings.consent_timeout_s,
            headers={"Authorization": f"Bearer {mint_service_token(settings)}"})
        response.raise_for_status()
        held = response.json()
        return {"id": str(held["id"]), "recorded_in": RECORDED_IN,
                "method": held["verification_method"],
                "verified_at": consent.verified_at.isoformat()}  # the Dutch date given
    except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
        log.warning("consent could not record a parental consent (%s)", type(exc).__name__)
        raise ApiError(503, "parental_consent_unrecorded",
                       "The parental consent could not be recorded right now, so the "
                       "participant under 16 is not registered. Try again shortly.") from exc


def reference(recorded: dict[str, Any]) -> dict[str, Any]:
    """What the participant row keeps: the id of consent's record, nothing of its content."""
    return {"id": recorded["id"], "recorded_in": RECORDED_IN}
