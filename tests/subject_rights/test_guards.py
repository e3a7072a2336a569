"""O5 in subject-rights: the details of a request carry no BSN and no special-category data
unless the person's tenant has the separate written agreement, learnt from training-records."""

from __future__ import annotations

from devstack.testing import auth

DPO = auth("dpo")


async def test_o5_request_details_with_special_category_data_are_refused_without_agreement(
    rights,
) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    before = await rights.sql("subject-rights", "SELECT count(*) FROM subject_request")
    for details, code in (
        ("Ik ben ziek gemeld en wil mijn gegevens zien", "special_category_not_allowed"),
        ("My BSN is 123-456-782", "bsn_not_allowed"),
        ("Mijn nummer: \u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0662",
         "bsn_not_allowed"),
    ):
        r = await rights.sr.post("/v1/subject-requests", headers=person.auth,
                                 json={"kind": "access", "details": details})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == code
        assert r.json()["error"]["details"][0]["field"] == "details"
        assert details not in r.text
    r = await rights.sr.post(f"/v1/subjects/{person.id}/erasure-request", headers=person.auth,
                             json={"details": "Ik ben lid van de vakbond"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["category"] == "trade_union"
    after = await rights.sql("subject-rights", "SELECT count(*) FROM subject_request")
    assert after[0][0] == before[0][0]


async def test_o5_request_details_accepted_with_the_tenants_agreement_and_the_category_recorded(
    rights,
) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    r = await rights.tr.post(f"/v1/tenants/{tenant}/special-category-agreements", headers=DPO,
                             json={"effective_on": "2026-02-01",
                                   "document_reference": "DPA annex B 2026-7"})
    assert r.status_code == 201, r.text
    agreement = r.json()["id"]
    case = await rights.file(person.auth, kind="access",
                             details="Ik heb diabetes; welke gegevens hebt u?")
    found = await rights.sql(
        "subject-rights", """SELECT record_kind, record_id, subject_id, field, category,
                                    agreement_id FROM special_category_finding
                             WHERE record_id = $1""", case["id"])
    assert [(f["record_kind"], f["subject_id"], f["field"], f["category"], f["agreement_id"])
            for f in found] == [("subject_request", person.id, "details", "health", agreement)]
