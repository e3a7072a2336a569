"""O17: a legal hold freezes rectification of the data it keeps: a rectification request for a
person whose organisation is held is answered 409 naming the hold (never its reason), and is
carried out once the hold is released."""

from __future__ import annotations

from typing import Any

from devstack.testing import auth, wait_for

DPO = auth("dpo")
REASON = "Claim by Daan Smit about his results"


async def _known_by(rights: Any, service: str, hold: str) -> None:
    async def known() -> bool:
        return bool(await rights.sql(service, "SELECT 1 FROM legal_hold_copy "
                                     "WHERE hold_id = $1::uuid", hold))

    await wait_for(known, timeout=30, what=f"{service} to keep a copy of the hold")


async def test_o17_a_rectification_request_of_a_held_tenant_is_refused_naming_the_hold(
    rights,
) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant, name="Daan Smit")
    placed = await rights.retention.post("/v1/legal-holds", headers=DPO, json={
        "tenant_id": tenant, "ground": "legal_claims", "reason": REASON})
    assert placed.status_code == 201, placed.text
    hold = placed.json()["id"]
    await _known_by(rights, "subject-rights", hold)
    await _known_by(rights, "training-records", hold)

    filed = await rights.file(person.auth, kind="rectification",
                              details="My name is misspelt.", rectification={"name": "Daan Smits"})
    refused = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval",
                                   headers=rights.beheerder(tenant), json={})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "legal_hold" and hold in error["message"]
    assert "legal_claims" in error["message"] and "Daan" not in error["message"]
    # Straight at the store, too (the person themselves).
    direct = await rights.tr.patch(f"/v1/tenants/{tenant}/participants/{person.id}",
                                   headers=person.auth, json={"name": "Daan Smits"})
    assert direct.status_code == 409 and direct.json()["error"]["code"] == "legal_hold"
    profile = await rights.tr.get(f"/v1/tenants/{tenant}/participants/{person.id}",
                                  headers=person.auth)
    assert profile.json()["name"] == "Daan Smit"
    assert (await rights.case(filed["id"]))["status"] != "completed"

    released = await rights.retention.post(f"/v1/legal-holds/{hold}/release", headers=DPO)
    assert released.status_code == 200, released.text

    async def gone() -> bool:
        return not any([await rights.sql(s, "SELECT 1 FROM legal_hold_copy "
                                         "WHERE hold_id = $1::uuid", hold)
                        for s in ("subject-rights", "training-records")])

    await wait_for(gone, timeout=30, what="the release to reach the stores")
    approved = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval",
                                    headers=rights.beheerder(tenant), json={})
    assert approved.status_code == 200, approved.text
    assert approved.json()["outcome"]["changed_fields"] == ["name"]
