"""Purposes and errors in Dutch and English (Accept-Language), and If-Match on purposes."""

from __future__ import annotations

import uuid

from devstack.testing import auth

DPO = auth("dpo", sub="dpo-lang")


async def test_purposes_in_dutch_and_in_english(consent) -> None:
    dutch = await consent.client.get("/v1/purposes", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
    english = await consent.client.get("/v1/purposes", headers={"Accept-Language": "en-GB"})
    neither = await consent.client.get("/v1/purposes", headers={"Accept-Language": "de"})
    assert dutch.headers["content-language"] == "nl"
    assert english.headers["content-language"] == "en"
    assert neither.headers["content-language"] == "en"  # the default
    nl = {p["id"]: p for p in dutch.json()["items"]}
    en = {p["id"]: p for p in english.json()["items"]}
    assert nl["analytics"]["name"] == "Analytische cookies"
    assert en["analytics"]["name"] == "Analytics cookies"
    assert nl["anonymised-data"]["description"].startswith("Geanonimiseerde gegevens bewaren")
    assert en["anonymised-data"]["description"].startswith("Keeping anonymised data")
    assert nl["newsletter"]["language"] == "nl"
    assert set(nl["newsletter"]["translations"]) == {"nl", "en"}
    for purpose in nl.values():  # every seeded purpose has both languages
        assert purpose["translations"]["nl"]["name"] != purpose["translations"]["en"]["name"]


async def test_errors_in_the_callers_language(consent) -> None:
    dutch = await consent.client.get("/v1/purposes/nope", headers={"Accept-Language": "nl"})
    english = await consent.client.get("/v1/purposes/nope")
    assert dutch.status_code == english.status_code == 404
    assert dutch.json()["error"] == {"code": "purpose_not_found",
                                     "message": "Er is geen doel 'nope'."}
    assert english.json()["error"]["message"] == "There is no purpose 'nope'."
    assert dutch.headers["content-language"] == "nl"
    unknown = await consent.client.get("/v1/purposes", params={"colour": "red"},
                                       headers={"Accept-Language": "nl"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"].startswith("Onbekende queryparameter: colour.")
    no_token = await consent.client.get(f"/v1/subjects/{uuid.uuid4()}/consents",
                                        headers={"Accept-Language": "nl"})
    assert no_token.json()["error"]["message"] == \
        "Meld u eerst aan: stuur 'Authorization: Bearer <token>' mee."
    beheerder = auth("beheerder", tenant="t1", sub="b-1")
    refused = await consent.client.put(f"/v1/subjects/{uuid.uuid4()}/consents/newsletter",
                                       json={"granted": True},
                                       headers={**beheerder, "Accept-Language": "nl"})
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith(
        "Een beheerder mag de toestemming van een deelnemer niet wijzigen")


async def test_a_new_purpose_in_both_languages_and_a_stale_if_match(consent) -> None:
    slug = f"webinar-{uuid.uuid4().hex[:6]}"
    created = await consent.client.post("/v1/purposes", headers=DPO, json={
        "id": slug, "name": "Webinar invitations", "description": "Invitations to webinars.",
        "translations": {"nl": {"name": "Uitnodigingen voor webinars",
                                "description": "Uitnodigingen voor onze webinars."}}})
    assert created.status_code == 201, created.text
    etag = created.headers["etag"]
    url = f"/v1/purposes/{slug}"
    assert (await consent.client.get(url, headers={"Accept-Language": "nl"})).json()["name"] == \
        "Uitnodigingen voor webinars"
    # No English translation: English readers get the text as first written.
    assert (await consent.client.get(url)).json()["name"] == "Webinar invitations"

    reworded = await consent.client.patch(url, headers={**DPO, "If-Match": etag}, json={
        "translations": {"en": {"name": "Webinars", "description": "Our free webinars."}}})
    assert reworded.status_code == 200, reworded.text
    assert reworded.json()["name"] == "Webinars"
    assert set(reworded.json()["translations"]) == {"nl", "en"}
    assert reworded.headers["etag"] != etag

    stale = await consent.client.patch(url, headers={**DPO, "If-Match": etag,
                                                     "Accept-Language": "nl"},
                                       json={"name": "Overwritten"})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    assert stale.json()["error"]["message"].startswith("Iemand heeft dit gewijzigd")
    current = await consent.client.get(url)
    assert current.headers["etag"] == reworded.headers["etag"]
    assert current.json()["name"] == "Webinars"
    participant = await consent.client.patch(url, json={"name": "Mine"},
                                             headers=auth("participant", sub="p"))
    assert participant.status_code == 403
