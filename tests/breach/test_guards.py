"""O5 in the breach register: the free-text facts, kept after every erasure, carry no BSN and
no special-category data; the categories concerned go in `data_categories`."""

from __future__ import annotations

BASE = {"title": "Guards: export sent to the wrong client",
        "discovered_at": "2026-03-28T09:30:00+01:00"}


async def test_o5_breach_facts_with_a_bsn_or_special_category_data_are_refused(bs) -> None:
    for field, text, code in (
        ("description", "The export held the BSN 123 456 782 of one learner.", "bsn_not_allowed"),
        ("consequences", "Outsiders could read that Jan has diabetes.",
         "special_category_not_allowed"),
        ("measures_taken", "Mailed the vakbond contact.", "special_category_not_allowed"),
    ):
        r = await bs.client.post("/v1/breaches", headers=bs.dpo, json={**BASE, field: text})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == code and error["details"][0]["field"] == field
        assert text not in r.text and "data_categories" in error["message"]
    assert await bs.fetchval("SELECT count(*) FROM breach WHERE title = $1",
                             BASE["title"]) == 0
    # The kinds of data concerned are named where they belong, and plain prose passes.
    breach = await bs.register(description="Health data of 40 participants was readable.",
                               data_categories=["health", "name"])
    r = await bs.client.post(f"/v1/breaches/{breach['id']}/notes", headers=bs.dpo,
                             json={"text": "Learner 123-456-782 called."})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bsn_not_allowed"
    r = await bs.client.post(f"/v1/breaches/{breach['id']}/follow-ups", headers=bs.dpo,
                             json={"cause": "A learner with epilepsy reported it."})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0] == {"field": "cause", "category": "health",
                                               "message": "holds health data"}
