"""Retention answers its refusals in Dutch when `Accept-Language: nl` asks, in English otherwise."""

from __future__ import annotations

import uuid

from devstack.testing import auth

OPERATOR = auth("operator", sub="operator-taal")
DUTCH = {"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}


async def test_a_refused_sub_processor_in_dutch_and_in_english(platform) -> None:
    body = {"name": "Wolkendienst Ltda.", "service": "backups", "location": "BR",
            "transfer_basis": "adequacy_decision"}  # no adequacy decision for Brazil
    dutch = await platform.retention.post("/v1/sub-processors", headers={**OPERATOR, **DUTCH},
                                          json=body)
    english = await platform.retention.post("/v1/sub-processors", headers=OPERATOR, json=body)
    assert dutch.status_code == english.status_code == 422
    assert dutch.headers["content-language"] == "nl"
    assert dutch.json()["error"] == {
        "code": "transfer_basis_required",
        "message": "De Europese Commissie heeft voor BR geen adequaatheidsbesluit genomen: "
                   "gebruik standard_contractual_clauses of binding_corporate_rules."}
    assert english.headers["content-language"] == "en"
    assert english.json()["error"]["message"] == (
        "The European Commission has no adequacy decision for BR: use "
        "standard_contractual_clauses or binding_corporate_rules.")


async def test_a_missing_hold_and_an_incomplete_one_in_dutch_and_in_english(platform) -> None:
    url = f"/v1/legal-holds/{uuid.uuid4()}/release"
    dutch = await platform.retention.post(url, headers={**OPERATOR, **DUTCH})
    english = await platform.retention.post(url, headers=OPERATOR)
    assert dutch.status_code == english.status_code == 404, dutch.text
    assert dutch.json()["error"]["message"] == \
        "Er is geen actieve bewaarplicht (legal hold) met dit id."
    assert english.json()["error"]["message"] == "There is no active legal hold with this id."

    # The service's own validation message, in the model validator, follows the language too.
    body = {"ground": "legal_claims", "reason": "Claim filed"}
    dutch = await platform.retention.post("/v1/legal-holds", headers={**OPERATOR, **DUTCH},
                                          json=body)
    english = await platform.retention.post("/v1/legal-holds", headers=OPERATOR, json=body)
    assert dutch.status_code == english.status_code == 422
    assert dutch.json()["error"]["details"][0]["message"] == \
        "een bewaarplicht (legal hold) noemt een subject_id, een tenant_id of beide"
    assert english.json()["error"]["details"][0]["message"] == \
        "a legal hold names a subject_id, a tenant_id or both"
