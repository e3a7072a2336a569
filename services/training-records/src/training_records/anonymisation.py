"""O13 at the moment of anonymising: ask consent who opted out of anonymised data.

The opt-out travels on `privacy.consent`, the erasure on `privacy.erasure`; when the erasure is
handled first, the local `anonymisation_opt_out` table does not know yet. So before folding
anyone's results into the anonymous benchmark, this store asks consent's current state over
HTTP (service token). When consent cannot answer, nobody is folded: their results are destroyed
with the rest (fail safe: a benchmark loses a count, a person never lands in it against their
wish).
"""

from __future__ import annotations

import logging
import uuid

import httpx

from privacy_kit.auth import mint_service_token
from privacy_kit.calls import service_client
from training_records.settings import Settings

log = logging.getLogger(__name__)

BATCH = 10_000


async def opted_out(settings: Settings, subject_ids: list[uuid.UUID]) -> set[uuid.UUID] | None:
    """Those of `subject_ids` who opted out, or None if consent could not say."""
    if not subject_ids:
        return set()
    headers = {"Authorization": f"Bearer {mint_service_token(settings)}"}
    found: set[uuid.UUID] = set()
    try:
        client, consent = service_client(), settings.store_urls["consent"]
        timeout = settings.consent_timeout_s
        if len(subject_ids) == 1:
            response = await client.get(
                f"{consent}/internal/subjects/{subject_ids[0]}/anonymisation-opt-out",
                headers=headers, timeout=timeout)
            response.raise_for_status()
            return set(subject_ids) if response.json()["opted_out"] is True else set()
        for start in range(0, len(subject_ids), BATCH):
            batch = subject_ids[start:start + BATCH]
            response = await client.post(f"{consent}/internal/anonymisation-opt-outs",
                                         json={"subject_ids": [str(s) for s in batch]},
                                         headers=headers, timeout=timeout)
            response.raise_for_status()
            found |= {uuid.UUID(s) for s in response.json()["opted_out"]}
    except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
        log.warning("consent could not say who opted out of anonymised data (%s: %s); "
                    "folding nobody", type(exc).__name__, exc)
        return None
    return found
