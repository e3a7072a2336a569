"""Tenants and participants through the HTTP API: the fixed routes, O1-O8, O19."""

from __future__ import annotations

import uuid

from devstack.testing import auth

OPERATOR = auth("operator")
DPO = auth("dpo")


async def test_o1_operator_creates_tenant_and_beheerder_registers_participant(
    tr,
) -> None:
    r = await tr.client.post("/v1/tenants", headers=OPERATOR, json={"name": "Acme"})
    assert r.status_code == 201
    tenant = r.json()
    assert uuid.UUID(tenant["id"]) and tenant["special_data_agreement"] is False
    assert tenant["contract_state"] == "active"
    tid = tenant["id"]

    for who in (auth("beheerder", tenant=tid), auth("dpo"), auth("participant", tenant=tid)):
        assert (await tr.client.post("/v1/tenants", headers=who, json={"name": "X"})).status_code \
            == 403
    assert (await tr.client.post("/v1/tenants", json={"name": "X"})).status_code == 401

    body = {"name": "Sanne de Vries", "email": "sanne@example.org", "birth_date": tr.adult()}
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json=body)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    me = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}",
                             headers=tr.participant_auth(tid, pid))
    assert me.status_code == 200
    assert me.json()["name"] == "Sanne de Vries" and me.json()["email"] == "sanne@example.org"


async def test_o8_person_ids_are_random_uuids_not_derived_from_name_or_email(
    tr,
) -> None:
    tid = await tr.tenant()
    a = await tr.participant(tid, name="Jan Jansen")
    b = await tr.participant(tid, name="Jan Jansen")
    assert uuid.UUID(a).version == 4 and uuid.UUID(b).version == 4 and a != b
    twin = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                                json={"name": "X", "email": "same@example.org",
                                      "birth_date": tr.adult()})
    assert twin.status_code == 201
    again = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                                 json={"name": "Y", "email": "SAME@example.org",
                                       "birth_date": tr.adult()})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"


async def test_o4_participant_holds_optional_categories(tr) -> None:
    tid = await tr.tenant()
    pid = await tr.participant(
        tid, phone="+31 20 123 4567", company="Acme B.V.",
        address={"street": "Kerkstraat 1", "postal_code": "1011 AB", "city": "Amsterdam"},
        education=[{"institution": "HvA", "qualification": "BSc", "year": 2012}],
        work_history=[{"employer": "Acme", "role": "Analyst", "from_year": 2013}],
        preferences={"language": "nl", "newsletter": False})
    r = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}",
                            headers=tr.participant_auth(tid, pid))
    body = r.json()
    assert body["address"]["city"] == "Amsterdam"
    assert body["education"][0]["institution"] == "HvA"
    assert body["work_history"][0]["role"] == "Analyst"
    assert body["preferences"] == {"language": "nl", "newsletter": False}


async def test_o5_bsn_in_any_field_is_refused_naming_the_field(tr) -> None:
    tid = await tr.tenant()
    base = {"name": "Piet", "email": "piet@example.org", "birth_date": tr.adult()}
    cases = [
        ({"company": "BSN 111222333"}, "company"),
        ({"name": "Piet 123456782"}, "name"),
        ({"address": {"street": "Dorpsstraat 1", "city": "sofinummer 1112.22.333"}},
         "address.city"),
        ({"work_history": [{"employer": "Acme", "role": "bsn: 11222335"}]},
         "work_history[0].role"),
        ({"preferences": {"note": "my number is 111222333"}}, "preferences.note"),
    ]
    for extra, field in cases:
        r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                                 json={**base, **extra})
        assert r.status_code == 422, (extra, r.text)
        error = r.json()["error"]
        assert error["code"] == "bsn_not_allowed"
        assert f"'{field}'" in error["message"] and "BSN" in error["message"]
        assert error["details"] == [{"field": field, "message": "contains a BSN"}]
    assert await tr.fetchval("SELECT count(*) FROM person WHERE tenant_id = $1",
                             uuid.UUID(tid)) == 0


async def test_o5_ordinary_numbers_are_not_refused(tr) -> None:
    tid = await tr.tenant()
    for extra in (
        {"company": "Order 123456789"},  # nine digits that fail the 11-proof
        {"phone": "612345671"},  # passes the 11-proof, but is a phone field
        {"preferences": {"mobile": "+31 612345671"}},  # passes, after a country prefix
        {"company": "IBAN NL91ABNA0417164300"},
        {"company": "Acme 12345678901"},  # a longer number
        {"preferences": {"budget": "123456782,50 EUR"}},  # an amount
        {"address": {"street": "Postbus 1234", "postal_code": "1011 AB"}},
    ):
        r = await tr.client.post(
            f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
            json={"name": "Kees", "email": f"{uuid.uuid4().hex[:8]}@example.org",
                  "birth_date": tr.adult(), **extra})
        assert r.status_code == 201, (extra, r.text)


async def test_o5_tenant_with_special_data_agreement_may_store_a_bsn(tr) -> None:
    tid = await tr.tenant(special=True)
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json={"name": "Piet", "email": "p@example.org",
                                   "birth_date": tr.adult(), "company": "BSN 111222333"})
    assert r.status_code == 201, r.text
    # The agreement can be ended by staff, on record; then a BSN is refused again.
    await tr.agreement(tid, action="ended")
    r = await tr.client.get(f"/v1/tenants/{tid}", headers=OPERATOR)
    assert r.status_code == 200 and r.json()["special_data_agreement"] is False
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json={"name": "Klaas", "email": "k@example.org",
                                   "birth_date": tr.adult(), "company": "BSN 111222333"})
    assert r.status_code == 422


async def test_o6_under_16_refused_without_parental_consent(tr) -> None:
    tid = await tr.tenant()
    child = {"name": "Kind", "email": "kind@example.org", "birth_date": tr.years_ago(16, days=1)}
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json=child)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "under_16_without_parental_consent"
    assert "under 16" in r.json()["error"]["message"]

    just_16 = {**child, "email": "zestien@example.org", "birth_date": tr.years_ago(16)}
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json=just_16)
    assert r.status_code == 201, r.text

    consented = {**child, "parental_consent": {"method": "signed form checked by HR",
                                               "verified_at": "2026-01-05"}}
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json=consented)
    assert r.status_code == 201, r.text
    assert r.json()["parental_consent"]["method"] == "signed form checked by HR"
    assert r.json()["parental_consent"]["recorded_in"] == "consent"


async def test_bad_input_gets_a_clear_4xx(tr) -> None:
    tid = await tr.tenant()
    url = f"/v1/tenants/{tid}/participants"
    for body, field in (
        ({"name": "A", "email": "not-an-email", "birth_date": tr.adult()}, "email"),
        ({"name": "A", "email": "a@example.org", "birth_date": "2999-01-01"}, "birth_date"),
        ({"name": "A", "email": "a@example.org", "birth_date": "yesterday"}, "birth_date"),
        ({"name": "", "email": "a@example.org", "birth_date": tr.adult()}, "name"),
        ({"name": "A", "email": "a@example.org", "birth_date": tr.adult(), "bsn": "x"}, "bsn"),
    ):
        r = await tr.client.post(url, headers=tr.beheerder(tid), json=body)
        assert r.status_code == 422, body
        assert r.json()["error"]["details"][0]["field"] == field
    assert (await tr.client.post(url, headers=tr.beheerder(tid), content=b"{")).status_code == 422
    unknown = str(uuid.uuid4())
    r = await tr.client.post(f"/v1/tenants/{unknown}/participants", headers=OPERATOR,
                             json={"name": "A", "email": "a@example.org", "birth_date": tr.adult()})
    assert r.status_code == 404
    assert (await tr.client.get("/v1/tenants/not-a-uuid/participants",
                                headers=OPERATOR)).status_code in (403, 422)
    r = await tr.client.get(f"/v1/tenants/{tid}/participants/{uuid.uuid4()}", headers=DPO)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
