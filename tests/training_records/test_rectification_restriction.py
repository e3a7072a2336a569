"""O24 rectification with history and events; O6 correction to under 16; O19 restriction."""

from __future__ import annotations

import uuid

from devstack.testing import auth, read_events, wait_for
from privacy_kit.events import Envelope, Topic


async def test_o24_rectification_keeps_history_and_emits_field_names_only(tr):
    tid = await tr.tenant()
    pid = await tr.participant(tid, name="Joost Klein", company="Oud B.V.")
    boss_id = str(uuid.uuid4())
    boss = tr.beheerder(tid, sub=boss_id)
    await tr.assign(tid, pid, (await tr.training())["id"], beheerder=boss)  # theirs (O2)
    url = f"/v1/tenants/{tid}/participants/{pid}"
    r = await tr.client.patch(url, headers=boss, json={"email": "joost.nieuw@example.org",
                                                       "company": "Nieuw B.V.",
                                                       "name": "Joost Klein"})
    assert r.status_code == 200, r.text
    assert r.json()["changed_fields"] == ["email", "company"]  # the name did not change
    assert r.json()["email"] == "joost.nieuw@example.org"
    r = await tr.client.patch(url, headers=tr.participant_auth(tid, pid),
                              json={"address": {"city": "Utrecht"}})
    assert r.json()["changed_fields"] == ["address"]
    unchanged = await tr.client.patch(url, headers=boss, json={"company": "Nieuw B.V."})
    assert unchanged.json()["changed_fields"] == []

    history = (await tr.client.get(f"{url}/rectifications",
                                   headers=tr.participant_auth(tid, pid))).json()["items"]
    assert [(h["field"], h["old_value"], h["new_value"], h["changed_by"]) for h in history] == [
        ("email", history[0]["old_value"], "joost.nieuw@example.org", boss_id),
        ("company", "Oud B.V.", "Nieuw B.V.", boss_id),
        ("address", None, {"street": None, "postal_code": None, "city": "Utrecht",
                           "country": None}, pid),
    ]
    assert all(h["changed_at"] for h in history)

    events = await read_events(tr.suite.kafka_bootstrap, tr.suite.topic(Topic.SUBJECT), expect=2,
                               match=lambda e: e.type == "subject.rectified"
                               and e.subject_id == pid)
    assert [e.data for e in events] == [{"fields": ["email", "company"]}, {"fields": ["address"]}]
    assert all(e.tenant_id == tid for e in events)
    raw = str([e.model_dump() for e in events])
    for personal in ("Joost", "example.org", "Nieuw B.V.", "Utrecht"):
        assert personal not in raw

    # Refusals: a BSN (O5), removing a required field, another tenant's Beheerder.
    r = await tr.client.patch(url, headers=boss, json={"company": "bsn 111222333"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bsn_not_allowed"
    r = await tr.client.patch(url, headers=boss, json={"email": None})
    assert r.status_code == 422
    other = auth("beheerder", tenant=str(uuid.uuid4()))
    assert (await tr.client.patch(url, headers=other, json={"company": "X"})).status_code == 403


async def test_o6_birth_date_corrected_to_under_16_asks_retention_for_erasure(tr):
    tid = await tr.tenant()
    pid = await tr.participant(tid)
    consented = await tr.participant(tid)
    url = f"/v1/tenants/{tid}/participants"
    child_birth = tr.years_ago(14)
    r = await tr.client.patch(f"{url}/{pid}", headers=tr.beheerder(tid),
                              json={"birth_date": child_birth})
    assert r.status_code == 200
    assert r.json()["erasure_requested"] is True
    r = await tr.client.patch(f"{url}/{consented}", headers=tr.beheerder(tid), json={
        "birth_date": child_birth,
        "parental_consent": {"method": "verified by phone", "verified_at": "2026-02-01"}})
    assert r.json()["erasure_requested"] is False

    [event] = await read_events(tr.suite.kafka_bootstrap, tr.suite.topic(Topic.SUBJECT),
                                match=lambda e: e.type == "subject.erasure_requested"
                                and e.tenant_id == tid)
    assert event.subject_id == pid
    assert event.data["reason"] == "under_16_without_parental_consent"
    assert event.data["trigger"] == "training-records"
    more = await read_events(tr.suite.kafka_bootstrap, tr.suite.topic(Topic.SUBJECT), expect=2,
                             timeout=2, match=lambda e: e.type == "subject.erasure_requested"
                             and e.tenant_id == tid)
    assert len(more) == 1  # none for the participant with parental consent


async def _assert_restricted(tr, tid: str, pid: str, training: dict) -> None:
    url = f"/v1/tenants/{tid}/participants/{pid}"
    boss, me = tr.beheerder(tid), tr.participant_auth(tid, pid)
    r = await tr.client.get(url, headers=boss)
    assert r.status_code == 200
    body = r.json()
    assert body["restricted"] is True and body["id"] == pid
    assert body["name"] is None and body["email"] is None and body["birth_date"] is None
    for suffix in ("/results", "/progress", "/certificates", "/logins", "/assignments",
                   "/rectifications"):
        r = await tr.client.get(f"{url}{suffix}", headers=boss)
        assert r.status_code == 403 and r.json()["error"]["code"] == "restricted", suffix
    r = await tr.client.get(f"/v1/tenants/{tid}/results", headers=boss)
    assert r.json()["items"] == [] and r.json()["restricted_participants"] == [pid]
    listing = (await tr.client.get(f"/v1/tenants/{tid}/participants", headers=boss)).json()
    assert listing["items"] == [{**listing["items"][0], "restricted": True, "name": None}]
    module = training["modules"][0]["id"]
    writes = [
        ("PATCH", url, boss, {"company": "X"}), ("PATCH", url, me, {"company": "X"}),
        ("PUT", f"{url}/progress/{module}", me, {"completed": True}),
        ("POST", f"{url}/results", me, {"training_id": training["id"], "score": 1,
                                        "passed": False}),
        ("POST", f"{url}/logins", me, None),
    ]
    for method, target, headers, json in writes:
        r = await tr.client.request(method, target, headers=headers, json=json)
        assert r.status_code == 409, (method, target, r.text)
        assert r.json()["error"]["code"] == "restricted"
        assert "restricted" in r.json()["error"]["message"]
    # The person still sees everything of their own.
    r = await tr.client.get(f"{url}/results", headers=me)
    assert r.status_code == 200 and len(r.json()["items"]) == 1


async def _assert_restored(tr, tid: str, pid: str) -> None:
    url = f"/v1/tenants/{tid}/participants/{pid}"
    boss = tr.beheerder(tid)
    r = await tr.client.get(url, headers=boss)
    assert r.json()["restricted"] is False and r.json()["name"] == "Sanne de Vries"
    assert len((await tr.client.get(f"{url}/results", headers=boss)).json()["items"]) == 1
    r = await tr.client.patch(url, headers=boss, json={"company": "Weer B.V."})
    assert r.status_code == 200


async def _restricted_person(tr) -> tuple[str, str, dict]:
    tid = await tr.tenant()
    pid = await tr.participant(tid)
    training = await tr.training(modules=1)
    await tr.assign(tid, pid, training["id"])
    await tr.result(tid, pid, training["id"], 75, True)
    return tid, pid, training


async def test_o19_restriction_by_staff_route_hides_and_freezes_until_lifted(tr):
    tid, pid, training = await _restricted_person(tr)
    url = f"/v1/tenants/{tid}/participants/{pid}/restriction"
    assert (await tr.client.put(url, headers=tr.beheerder(tid))).status_code == 403
    r = await tr.client.put(url, headers=tr.dpo)
    assert r.status_code == 200 and r.json()["restricted"] is True
    await _assert_restricted(tr, tid, pid, training)
    r = await tr.client.delete(url, headers=tr.operator)
    assert r.status_code == 200 and r.json()["restricted"] is False
    await _assert_restored(tr, tid, pid)


async def test_o19_restriction_arrives_by_event_and_is_lifted_by_event(events_ready):
    tr = events_ready
    tid, pid, training = await _restricted_person(tr)
    await tr.publish(Topic.SUBJECT, Envelope(type="subject.restricted", source="subject-rights",
                                             tenant_id=tid, subject_id=pid))

    async def restricted() -> bool:
        r = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}", headers=tr.dpo)
        return bool(r.json()["restricted"])
    await wait_for(restricted, what="the restriction event to be applied")
    await _assert_restricted(tr, tid, pid, training)

    await tr.publish(Topic.SUBJECT, Envelope(type="subject.restriction_lifted",
                                             source="subject-rights", tenant_id=tid,
                                             subject_id=pid))

    async def lifted() -> bool:
        return not await restricted()
    await wait_for(lifted, what="the lift event to be applied")
    await _assert_restored(tr, tid, pid)
