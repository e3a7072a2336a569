"""O5 and O6 through training-records' API: formatted BSNs, special categories, the agreement
as a record with history, and parental-consent dates (each case fails on the code before)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from devstack.testing import auth

OPERATOR = auth("operator")
DPO = auth("dpo")


def _body(tr, **extra: object) -> dict[str, object]:
    return {"name": "Piet", "email": f"{uuid.uuid4().hex[:8]}@example.org",
            "birth_date": tr.adult(), **extra}


@pytest.mark.parametrize(("extra", "field"), [
    ({"company": "123 456 782"}, "company"),
    ({"company": "123-456-782"}, "company"),
    ({"company": "123/456/782"}, "company"),
    ({"company": "1 2 3 4 5 6 7 8 2"}, "company"),
    ({"company": "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0662"}, "company"),  # Arabic-Indic digits
    ({"email": "jan.123456782@example.org"}, "email"),
    ({"preferences": {"note": "nummer \uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff12"}}, "preferences.note"),
])
async def test_o5_formatted_bsn_is_refused_and_nothing_stored(tr, extra, field) -> None:
    tid = await tr.tenant()
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json=_body(tr, **extra))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "bsn_not_allowed"
    assert r.json()["error"]["details"] == [{"field": field, "message": "contains a BSN"}]
    assert await tr.fetchval("SELECT count(*) FROM person WHERE tenant_id = $1",
                             uuid.UUID(tid)) == 0


async def test_o5_special_category_in_a_participant_field_is_refused_naming_field_and_category(
    tr,
) -> None:
    tid = await tr.tenant()
    url = f"/v1/tenants/{tid}/participants"
    r = await tr.client.post(url, headers=tr.beheerder(tid), json=_body(
        tr, preferences={"note": "Heeft diabetes, is lid van de FNV"}))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "special_category_not_allowed"
    assert error["details"] == [
        {"field": "preferences.note", "category": "health", "message": "holds health data"},
        {"field": "preferences.note", "category": "trade_union",
         "message": "holds trade union membership data"}]
    assert "diabetes" not in r.text and "FNV" not in r.text  # never the text itself
    # Innocent words pass.
    r = await tr.client.post(url, headers=tr.beheerder(tid), json=_body(
        tr, company="Medisch Centrum Kerkstraat", address={"street": "Kerkstraat 1"},
        preferences={"note": "VCA: health and safety"}))
    assert r.status_code == 201, r.text
    # A rectification is screened the same way.
    pid = r.json()["id"]
    r = await tr.client.patch(f"{url}/{pid}", headers=tr.beheerder(tid),
                              json={"company": "Sinds maart ziek gemeld"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["category"] == "health"


async def test_o5_tenant_names_and_beheerders_are_screened(tr) -> None:
    r = await tr.client.post("/v1/tenants", headers=OPERATOR, json={"name": "Jan 123 456 782"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bsn_not_allowed"
    r = await tr.client.post("/v1/tenants", headers=OPERATOR,
                             json={"name": "Vakbondsleden Overleg"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0] == {
        "field": "name", "category": "trade_union",
        "message": "holds trade union membership data"}
    tid = await tr.tenant()
    r = await tr.client.post(f"/v1/tenants/{tid}/beheerders", headers=OPERATOR,
                             json={"name": "Petra (strafblad)", "email": "p@example.org"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["category"] == \
        "criminal_past"


async def test_o5_agreement_is_a_staff_record_with_history_not_a_toggle(tr) -> None:
    tid = await tr.tenant()
    url = f"/v1/tenants/{tid}/special-category-agreements"
    record = {"effective_on": "2026-01-15", "document_reference": "DPA annex B 2026-114"}
    # Not through the tenant itself, not by a Beheerder, not dated in the future.
    r = await tr.client.patch(f"/v1/tenants/{tid}", headers=OPERATOR,
                              json={"special_data_agreement": True})
    assert r.status_code == 422
    r = await tr.client.post("/v1/tenants", headers=OPERATOR,
                             json={"name": "X", "special_data_agreement": True})
    assert r.status_code == 422
    assert (await tr.client.post(url, headers=tr.beheerder(tid), json=record)).status_code == 403
    future = (date.today() + timedelta(days=3)).isoformat()
    r = await tr.client.post(url, headers=DPO, json={**record, "effective_on": future})
    assert r.status_code == 422
    r = await tr.client.post(url, headers=DPO, json={**record, "effective_on": 0})
    assert r.status_code == 422
    r = await tr.client.post(url, headers=DPO, json={**record, "action": "ended"})
    assert r.status_code == 409

    dpo_sub = "dpo-" + uuid.uuid4().hex[:6]
    r = await tr.client.post(url, headers=auth("dpo", sub=dpo_sub), json=record)
    assert r.status_code == 201, r.text
    agreement = r.json()
    assert agreement["recorded_by"] == dpo_sub and agreement["effective_on"] == "2026-01-15"
    assert agreement["document_reference"] == "DPA annex B 2026-114"
    assert (await tr.client.get(f"/v1/tenants/{tid}", headers=OPERATOR)).json()[
        "special_data_agreement"] is True

    # With it, special-category data is accepted and which field held what is recorded.
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json=_body(tr, preferences={"diet": "halal, is moslim"},
                                        company="123 456 782"))
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    async with tr.app.state.pool.acquire() as conn:
        found = await conn.fetch(
            """SELECT record_kind, field, category, agreement_id FROM special_category_finding
               WHERE subject_id = $1 ORDER BY id""", pid)
    assert [(f["record_kind"], f["field"], f["category"]) for f in found] == [
        ("participant", "company", "bsn"), ("participant", "preferences.diet", "religion")]
    assert {f["agreement_id"] for f in found} == {agreement["id"]}
    # The person's export says so (field and category, no text beyond their own data).
    export = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}/export", headers=DPO)
    assert export.status_code == 200

    # Ended, on record; the history keeps both, in order, and Beheerders can read it.
    r = await tr.client.post(url, headers=DPO, json={**record, "action": "ended",
                                                     "document_reference": "letter 2026-131"})
    assert r.status_code == 201
    history = await tr.client.get(url, headers=tr.beheerder(tid))
    assert [a["action"] for a in history.json()["items"]] == ["recorded", "ended"]
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json=_body(tr, company="is moslim"))
    assert r.status_code == 422


async def test_o5_other_services_learn_the_agreement_with_a_service_token(tr) -> None:
    from devstack.testing import service_auth

    tid = await tr.tenant()
    url = f"/internal/tenants/{tid}/special-category-agreement"
    assert (await tr.client.get(url, headers=DPO)).status_code == 403
    r = await tr.client.get(url, headers=service_auth("subject-rights"))
    assert r.json() == {"tenant_id": tid, "in_force": False, "agreement_id": None}
    agreement = await tr.agreement(tid)
    r = await tr.client.get(url, headers=service_auth("subject-rights"))
    assert r.json() == {"tenant_id": tid, "in_force": True, "agreement_id": agreement["id"]}
    r = await tr.client.get(f"/internal/tenants/{uuid.uuid4()}/special-category-agreement",
                            headers=service_auth("breach"))
    assert r.status_code == 404


@pytest.mark.parametrize(("verified_at", "why"), [
    ("9999-01-01", "in the future"),
    (0, "a number"),
    (1767571200, "a number"),
    ("2001-01-01", "before birth"),
])
async def test_o6_parental_consent_dates_that_cannot_be_are_refused(tr, verified_at, why) -> None:
    tid = await tr.tenant()
    body = _body(tr, birth_date=tr.years_ago(12),
                 parental_consent={"method": "signed form", "verified_at": verified_at})
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json=body)
    assert r.status_code == 422, (why, r.text)
    assert r.json()["error"]["details"][0]["field"] == "parental_consent.verified_at"
    assert await tr.fetchval("SELECT count(*) FROM person WHERE tenant_id = $1",
                             uuid.UUID(tid)) == 0


async def test_o6_one_parental_consent_record_held_by_consent(tr) -> None:
    tid = await tr.tenant()
    beheerder_sub = str(uuid.uuid4())
    r = await tr.client.post(
        f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid, sub=beheerder_sub),
        json=_body(tr, birth_date=tr.years_ago(14),
                   parental_consent={"method": "signed form checked by HR",
                                     "verified_at": date.today().isoformat(),
                                     "guardian_reference": "guardian-2026-7"}))
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    stored = await tr.fetchval("SELECT parental_consent FROM person WHERE id = $1",
                               uuid.UUID(pid))
    assert "method" not in stored and "recorded_in" in stored  # only the reference here
    # Consent holds the one record, with who checked it.
    async with tr.consent.state.pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM parental_consent WHERE subject_id = $1", pid)
    assert len(rows) == 1
    assert rows[0]["verification_method"] == "signed form checked by HR"
    assert rows[0]["verified_by"] == beheerder_sub
    assert rows[0]["guardian_reference"] == "guardian-2026-7"
    # An adult's needless parental consent is not kept anywhere.
    r = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=tr.beheerder(tid),
                             json=_body(tr, parental_consent={"method": "x",
                                                              "verified_at": "2020-01-01"}))
    assert r.status_code == 201 and r.json()["parental_consent"] is None
