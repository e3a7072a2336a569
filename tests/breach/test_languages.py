"""The breach service answers its refusals in Dutch when `Accept-Language: nl` asks, in English
otherwise."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

DUTCH = {"Accept-Language": "nl"}


async def test_a_refused_transition_in_dutch_and_in_english(bs) -> None:
    breach = await bs.register()
    path = f"/v1/breaches/{breach['id']}/transitions"
    dutch = await bs.client.post(path, headers={**bs.dpo, **DUTCH}, json={"to": "closed"})
    english = await bs.client.post(path, headers=bs.dpo, json={"to": "closed"})
    assert dutch.status_code == english.status_code == 409
    assert dutch.headers["content-language"] == "nl"
    assert dutch.json()["error"] == {
        "code": "not_ready",
        "message": "Kan nog niet de status closed krijgen: het risico is nog niet beoordeeld."}
    assert english.headers["content-language"] == "en"
    assert english.json()["error"]["message"] == "Cannot be closed yet: the risk is not assessed."

    missing = f"/v1/breaches/{uuid.uuid4()}"
    dutch = await bs.client.get(missing, headers={**bs.dpo, **DUTCH})
    english = await bs.client.get(missing, headers=bs.dpo)
    assert dutch.status_code == english.status_code == 404
    assert dutch.json()["error"]["message"] == "Er is geen datalek met dit id."
    assert english.json()["error"]["message"] == "There is no breach with this id."


async def test_a_time_without_an_offset_in_dutch_and_in_english(bs) -> None:
    body = {"title": "Lost laptop", "description": "Unencrypted laptop lost on a train.",
            "discovered_at": "2026-03-28T09:30:00"}
    dutch = await bs.client.post("/v1/breaches", headers={**bs.dpo, **DUTCH}, json=body)
    english = await bs.client.post("/v1/breaches", headers=bs.dpo, json=body)
    assert dutch.status_code == english.status_code == 422
    assert dutch.json()["error"]["details"] == [{
        "field": "discovered_at",
        "message": "geef het tijdstip met de afwijking ten opzichte van UTC (bijvoorbeeld "
                   "2026-03-28T10:00:00+01:00, of 2026-03-28T09:00:00Z in UTC); een tijdstip "
                   "zonder afwijking is dubbelzinnig en zou de termijnen een of twee uur "
                   "verschuiven"}]
    assert english.json()["error"]["details"][0]["message"].startswith(
        "give the time with its UTC offset (e.g. 2026-03-28T10:00:00+01:00, or "
        "2026-03-28T09:00:00Z for UTC)")


async def test_a_time_in_the_future_in_dutch(bs) -> None:
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = await bs.client.post("/v1/breaches", headers={**bs.dpo, **DUTCH}, json={
        "title": "Lost laptop", "description": "Unencrypted laptop lost on a train.",
        "discovered_at": future})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "time_in_future"
    assert error["message"].startswith(f"discovered_at ({future}) ligt in de toekomst (het is nu ")
    assert error["details"] == [{"field": "discovered_at", "message": "ligt in de toekomst"}]
