"""O6 in consent, the one keeper of parental consent: a verification time that cannot be true
is refused, and training-records records what a Beheerder checked here (service token)."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing import auth, service_auth

PROOF = {"guardian_reference": "guardian-ref-9", "verification_method": "iDIN bank check"}


@pytest.mark.parametrize("verified_at", ["9999-01-01T00:00:00Z", 0, 1767571200, True])
async def test_o6_parental_consent_verified_in_the_future_or_as_a_number_is_refused(
    consent, verified_at,
) -> None:
    sub = str(uuid.uuid4())
    r = await consent.client.post(f"/v1/subjects/{sub}/parental-consents",
                                  json={**PROOF, "verified_at": verified_at},
                                  headers=auth("dpo", sub="dpo-1"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == "verified_at"


async def test_o6_training_records_records_the_beheerders_check_as_the_one_record(consent) -> None:
    sub = str(uuid.uuid4())
    url = f"/internal/subjects/{sub}/parental-consents"
    body = {**PROOF, "verified_at": "2026-01-05T00:00:00+01:00", "verified_by": "beheerder-7"}
    assert (await consent.client.post(url, json=body,
                                      headers=auth("dpo"))).status_code == 403
    r = await consent.client.post(url, json=body, headers=service_auth("training-records"))
    assert r.status_code == 201, r.text
    assert r.json()["verified_by"] == "beheerder-7"
    listed = await consent.client.get(f"/v1/subjects/{sub}/parental-consents",
                                      headers=auth("dpo", sub="dpo-1"))
    assert [p["id"] for p in listed.json()["items"]] == [r.json()["id"]]
    r = await consent.client.post(url, json={**body, "verified_at": "9999-01-01"},
                                  headers=service_auth("training-records"))
    assert r.status_code == 422
