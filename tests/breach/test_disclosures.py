"""O30: disclosure to authorities is recorded, and the tenant informed beforehand unless forbidden."""

from __future__ import annotations

from datetime import UTC, datetime

from devstack.testing import auth


async def test_o30_a_disclosure_is_recorded_and_shown_to_the_tenant_unless_forbidden(bs) -> None:
    tenant, other = await bs.tenant(), await bs.tenant()
    person = await bs.participant(tenant)
    bs.clock.now = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
    open_one = {
        "tenant_id": tenant, "authority": "Politie, Eenheid Amsterdam",
        "what": "Login times of one participant account, March 2026.",
        "data_categories": ["login times"],
        "legal_basis": "Vordering ex art. 126nd Wetboek van Strafvordering",
        "disclosed_at": "2026-04-02T11:00:00+02:00",
        "tenant_informed_at": "2026-04-01T16:30:00+02:00", "subject_ids": [person]}
    r = await bs.client.post("/v1/authority-disclosures", headers=bs.dpo, json=open_one)
    assert r.status_code == 201, r.text
    assert r.json()["tenant_informed_beforehand"] is True and r.json()["subjects"] == 1
    assert r.json()["disclosed_at_amsterdam"] == "2026-04-02T11:00:00+02:00"

    r = await bs.client.post("/v1/authority-disclosures", headers=bs.dpo, json={
        **open_one, "tenant_informed_at": None})
    assert r.status_code == 422 and "not_informed_reason" in r.json()["error"]["message"]
    r = await bs.client.post("/v1/authority-disclosures", headers=bs.dpo, json={
        **open_one, "disclosed_at": "2026-04-02T11:00:00"})
    assert r.status_code == 422 and "offset" in r.json()["error"]["message"]

    secret = await bs.client.post("/v1/authority-disclosures", headers=bs.dpo, json={
        **open_one, "tenant_informed_at": None, "authority": "FIOD",
        "secrecy_ground": "Geheimhoudingsplicht art. 126bb Sv during the investigation"})
    assert secret.status_code == 201, secret.text
    assert secret.json()["not_informed_reason"].startswith("forbidden:")

    beheerder = bs.beheerder(tenant)
    seen = (await bs.client.get("/v1/authority-disclosures", headers=beheerder)).json()["items"]
    assert [d["authority"] for d in seen] == ["Politie, Eenheid Amsterdam"]
    r = await bs.client.get(f"/v1/authority-disclosures/{secret.json()['id']}", headers=beheerder)
    assert r.status_code == 404
    assert (await bs.client.get("/v1/authority-disclosures",
                                headers=bs.beheerder(other))).json()["items"] == []
    r = await bs.client.get("/v1/authority-disclosures", headers=auth("participant", tenant=tenant))
    assert r.status_code == 403
    staff = (await bs.client.get("/v1/authority-disclosures", headers=bs.dpo,
                                 params={"tenant_id": tenant})).json()["items"]
    assert {d["authority"] for d in staff} == {"Politie, Eenheid Amsterdam", "FIOD"}

    r = await bs.client.post(f"/v1/authority-disclosures/{secret.json()['id']}/secrecy-lifted",
                             headers=bs.dpo)
    assert r.status_code == 200 and r.json()["secrecy_lifted_at"] == "2026-04-03T12:00:00Z"
    seen = (await bs.client.get("/v1/authority-disclosures", headers=beheerder)).json()["items"]
    assert {d["authority"] for d in seen} == {"Politie, Eenheid Amsterdam", "FIOD"}
    events = await bs.events("disclosure.recorded", expect=2)
    assert {e.tenant_id for e in events} == {tenant}
    assert all("Politie" not in e.model_dump_json() for e in events)
