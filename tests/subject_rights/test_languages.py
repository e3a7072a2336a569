"""Subject-rights answers its refusals in Dutch when `Accept-Language: nl` asks, in English
otherwise (O22's list of grounds included)."""

from __future__ import annotations

DUTCH = {"Accept-Language": "nl-BE, nl;q=0.9"}


async def test_a_refusal_on_no_accepted_ground_in_dutch_and_in_english(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await rights.file(person.auth, kind="access")
    url = f"/v1/subject-requests/{filed['id']}/refusal"
    beheerder = rights.beheerder(tenant)
    body = {"ground": "busy", "explanation": "No."}
    dutch = await rights.sr.post(url, headers={**beheerder, **DUTCH}, json=body)
    english = await rights.sr.post(url, headers=beheerder, json=body)
    assert dutch.status_code == english.status_code == 422
    assert dutch.headers["content-language"] == "nl"
    assert dutch.json()["error"]["code"] == "ground_not_accepted"
    assert dutch.json()["error"]["details"] == [{"field": "ground",
                                                 "message": "geen toegestane grond"}]
    assert english.json()["error"]["details"][0]["message"] == "not an accepted ground"
    assert dutch.json()["error"]["message"] == (
        "'busy' is geen grond waarop dit verzoek kan worden geweigerd. Toegestaan: "
        "manifestly_unfounded (het verzoek is kennelijk ongegrond (art. 12 lid 5 AVG)); "
        "excessive (het verzoek is buitensporig, met name vanwege het repetitieve karakter "
        "(art. 12 lid 5 AVG)); rights_of_others (inwilligen zou afbreuk doen aan de rechten en "
        "vrijheden van anderen (art. 15 lid 4 AVG)). Niet toegestaan: 'te veel technische "
        "moeite' en 'het staat in een back-up': de verwerkingsverantwoordelijke moet de "
        "gegevens vinden, ook in back-ups (verwijderde gegevens die uit een back-up worden "
        "teruggezet, worden opnieuw verwijderd).")
    assert english.headers["content-language"] == "en"
    assert english.json()["error"]["message"] == (
        "'busy' is not a ground on which this request can be refused. Accepted: "
        "manifestly_unfounded (the request is manifestly unfounded (art. 12(5))); excessive "
        "(the request is excessive, in particular because it is repeated (art. 12(5))); "
        "rights_of_others (answering would adversely affect the rights and freedoms of others "
        "(art. 15(4))). Not accepted: 'too much technical effort' and 'it is in a backup': the "
        "controller must find the data, also in backups (erased data restored from a backup is "
        "erased again).")


async def test_someone_elses_request_in_dutch_and_in_english(rights) -> None:
    tenant = await rights.tenant()
    person, other = await rights.participant(tenant), await rights.participant(tenant)
    filed = await rights.file(person.auth, kind="access")
    url = f"/v1/subject-requests/{filed['id']}"
    dutch = await rights.sr.get(url, headers={**other.auth, **DUTCH})
    english = await rights.sr.get(url, headers=other.auth)
    assert dutch.status_code == english.status_code == 403
    assert dutch.json()["error"]["message"] == "U mag dit verzoek niet inzien."
    assert english.json()["error"]["message"] == "This request is not yours to see."
