"""O28: the AP within 72 h of awareness unless no risk; people told of a high risk. O25/O26:
an affected person's erasure leaves the breach's facts and counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from devstack.testing import auth, read_events, service_auth, wait_for
from privacy_kit.events import Topic
from privacy_kit.protocol import ErasureRequested, ErasureScope, envelope

FORM_SECTIONS = {
    "organisation": {"name", "chamber_of_commerce_number", "address", "sector", "contact",
                     "data_protection_officer"},
    "notification": {"required", "type", "previous_reference", "submissions", "status"},
    "timeline": {"occurred_from", "occurred_until", "ongoing", "discovered_at", "aware_at",
                 "registered_at", "report_due_at", "reported_at", "late", "delay_reason",
                 "occurred_from_amsterdam", "occurred_until_amsterdam", "discovered_at_amsterdam",
                 "aware_at_amsterdam", "report_due_at_amsterdam"},
    "nature": {"confidentiality", "integrity", "availability", "description", "cause"},
    "people": {"categories", "approximate_number", "known_affected", "unknown_ids"},
    "personal_data": {"categories"},
    "records": {"approximate_number"},
    "protection": {"encrypted_or_unintelligible", "how"},
    "measures": {"taken", "proposed"},
    "risk": {"level", "reasoning", "assessed_at"},
    "people_informed": {"required", "informed", "informed_count", "without_contact",
                        "first_informed_at", "last_informed_at", "how", "exception",
                        "exception_reason"},
    "cross_border": {"cross_border", "member_states"},
    "client_organisations": {"affected", "notified", "notified_late"},
}


async def test_o28_a_no_risk_breach_needs_no_authority_report_yet_stays_registered(bs) -> None:
    bs.clock.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    breach = await bs.register(title="Encrypted USB stick lost", unintelligible=True,
                               unintelligible_how="AES-256, key not on the stick")
    assert breach["authority"]["status"] == "open" and breach["authority"]["required"] is True
    path = f"/v1/breaches/{breach['id']}"
    r = await bs.client.post(f"{path}/assessments", headers=bs.dpo, json={
        "risk": "no_risk", "reasoning": "Strong encryption; the key was never with the stick."})
    assert r.status_code == 200
    assert r.json()["authority"] == {**r.json()["authority"], "required": False,
                                     "status": "not_required"}
    assessed = await bs.events("breach.assessed", breach_id=breach["id"])
    assert assessed[0].data["authority_report_required"] is False

    long_after = datetime(2026, 4, 5, 12, 0, tzinfo=UTC)  # well past 72 h
    bs.clock.now = long_after
    await bs.sweep(long_after)
    assert await bs.fetchval(
        """SELECT count(*) FROM outbox WHERE envelope->>'type' IN
           ('breach.notice_due_soon', 'breach.notice_overdue')
           AND envelope->'data'->>'breach_id' = $1""", breach["id"]) == 0
    deadlines = (await bs.client.get("/v1/breaches/deadlines", headers=bs.dpo,
                                     params={"limit": 200})).json()["items"]
    assert breach["id"] not in {d["breach_id"] for d in deadlines}
    report = (await bs.client.get(f"{path}/authority-report", headers=bs.dpo)).json()
    assert report["notification"]["required"] is False
    assert report["notification"]["status"] == "not_required"
    r = await bs.client.post(f"{path}/transitions", headers=bs.dpo, json={"to": "closed"})
    assert r.status_code == 200
    listed = (await bs.client.get("/v1/breaches", headers=bs.dpo,
                                  params={"state": "closed", "limit": 200})).json()["items"]
    assert breach["id"] in {b["id"] for b in listed}  # documented, never dropped
    assert (await bs.client.get(path, headers=bs.dpo)).json()["facts"]["unintelligible"] is True


async def test_o28_the_authority_report_holds_every_form_field(bs) -> None:
    tenant = await bs.tenant()
    people = [await bs.participant(tenant) for _ in range(2)]
    bs.clock.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    breach = await bs.register(
        title="Phishing led to a coordinator account takeover",
        description="An attacker used a coordinator's password to read results.",
        occurred_from="2026-03-27T20:00:00+01:00", discovered_at="2026-03-28T09:30:00+01:00",
        aware_at="2026-03-28T10:00:00+01:00", nature=["confidentiality", "integrity"],
        cause="Phishing e-mail", data_categories=["name", "e-mail address", "results"],
        subject_categories=["participants"], approx_subjects=40, approx_records=120,
        consequences="Phishing of participants; changed scores.", measures_taken="Password reset.",
        measures_proposed="Two-factor sign-in for coordinators.", cross_border=True,
        member_states=["BE", "DE"], affected_subject_ids=people)
    path = f"/v1/breaches/{breach['id']}"
    await bs.client.post(f"{path}/assessments", headers=bs.dpo, json={
        "risk": "high_risk", "reasoning": "E-mail addresses in attackers' hands; phishing likely."})
    r = await bs.client.post(f"{path}/people-notices", headers=bs.dpo, json={})
    assert r.json()["notified"] == 2

    report = (await bs.client.get(f"{path}/authority-report", headers=bs.dpo)).json()
    for section, fields in FORM_SECTIONS.items():
        assert set(report[section]) == fields, section
    assert report["summary"].startswith("Phishing led to a coordinator account takeover")
    assert report["consequences"] == "Phishing of participants; changed scores."
    assert report["nature"]["confidentiality"] and report["nature"]["integrity"]
    assert not report["nature"]["availability"]
    assert report["people"] == {"categories": ["participants"], "approximate_number": 40,
                                "known_affected": 2, "unknown_ids": 0}
    assert report["timeline"]["report_due_at"] == "2026-03-31T09:00:00Z"
    assert report["timeline"]["report_due_at_amsterdam"] == "2026-03-31T11:00:00+02:00"
    assert report["people_informed"]["informed_count"] == 2
    assert report["people_informed"]["how"]
    assert report["cross_border"] == {"cross_border": True, "member_states": ["BE", "DE"]}
    assert report["organisation"]["data_protection_officer"]["email"] == "fg@example.org"
    assert report["notification"]["type"] == "new"
    assert report["missing"] == []

    pdf = await bs.client.get(f"{path}/authority-report.pdf", headers=bs.dpo)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    # Submitted after the 72 h: the reason for the delay is required, and kept.
    bs.clock.now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    late = {"phase": "initial", "submitted_at": "2026-03-31T13:30:00+02:00", "reference": "AP-1"}
    r = await bs.client.post(f"{path}/authority-notifications", headers=bs.dpo, json=late)
    assert r.status_code == 422 and r.json()["error"]["code"] == "delay_reason_required"
    r = await bs.client.post(f"{path}/authority-notifications", headers=bs.dpo,
                             json={**late, "delay_reason": "Scope unclear until the host's logs came."})
    assert r.status_code == 200, r.text
    assert r.json()["authority"]["status"] == "reported_late"
    report = (await bs.client.get(f"{path}/authority-report", headers=bs.dpo)).json()
    assert report["notification"]["type"] == "follow_up"
    assert report["notification"]["previous_reference"] == "AP-1"
    assert report["timeline"]["delay_reason"] == "Scope unclear until the host's logs came."
    assert report["timeline"]["late"] is True
    notified = await bs.events("breach.authority_notified", breach_id=breach["id"])
    assert notified[0].data == {"breach_id": breach["id"], "phase": "initial", "late": True}
    r = await bs.client.get(f"{path}/authority-report", headers=auth("beheerder", tenant=tenant))
    assert r.status_code == 403


async def test_o28_people_are_told_of_a_high_risk_through_the_message_outbox(bs) -> None:
    tenant = await bs.tenant()
    told_email = f"{uuid.uuid4().hex[:8]}@example.org"
    person = await bs.participant(tenant, email=told_email)
    bystander = await bs.participant(tenant)
    breach = await bs.register(description="Results were readable by outsiders.",
                               affected_subject_ids=[person, str(uuid.uuid4())])
    path = f"/v1/breaches/{breach['id']}"
    r = await bs.client.post(f"{path}/people-notices", headers=bs.dpo, json={})
    assert r.status_code == 409  # not assessed as high risk
    await bs.client.post(f"{path}/assessments", headers=bs.dpo,
                         json={"risk": "high_risk", "reasoning": "Results of minors exposed."})
    bs.clock.now = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    r = await bs.client.post(f"{path}/people-notices", headers=bs.dpo,
                             json={"message": "Be wary of e-mails asking for your password."})
    assert r.status_code == 200, r.text
    assert r.json() == {"notified": 1, "already_notified": 0, "without_contact": 0,
                        "not_affected": 0}
    again = await bs.client.post(f"{path}/people-notices", headers=bs.dpo, json={})
    assert again.json()["notified"] == 0 and again.json()["already_notified"] == 1

    told = (await bs.client.get(f"{path}/people-notices", headers=bs.dpo)).json()["items"]
    assert [(t["subject_id"], t["notified_at"]) for t in told] == [(person, "2026-03-29T08:00:00Z")]
    mail = (await bs.client.get("/v1/messages/breach", headers=bs.dpo,
                                params={"subject_id": person})).json()["items"]
    assert len(mail) == 1 and mail[0]["recipient"] == told_email
    assert "Results were readable by outsiders." in mail[0]["body"]
    assert "fg@example.org" in mail[0]["body"]
    assert "Be wary of e-mails" in mail[0]["body"]

    mine = await bs.client.get("/v1/breach-notices/mine",
                               headers=auth("participant", tenant=tenant, sub=person))
    assert [n["breach_id"] for n in mine.json()["items"]] == [breach["id"]]
    assert "Results were readable" in mine.json()["items"][0]["body"]
    theirs = await bs.client.get("/v1/breach-notices/mine",
                                 headers=auth("participant", tenant=tenant, sub=bystander))
    assert theirs.json()["items"] == []
    r = await bs.client.get(path, headers=auth("participant", tenant=tenant, sub=person))
    assert r.status_code == 403  # nothing of the register
    event = await bs.events("breach.people_notified", breach_id=breach["id"])
    assert event[0].data == {"breach_id": breach["id"], "notified": 1, "without_contact": 0}
    assert told_email not in event[0].model_dump_json()
    state = (await bs.client.get(path, headers=bs.dpo)).json()
    assert state["people_notified"] == 1


async def test_o26_erasure_of_an_affected_person_leaves_the_breach_facts_and_counts(bs) -> None:
    tenant = await bs.tenant()
    erased = await bs.participant(tenant)
    stays = await bs.participant(tenant)
    breach = await bs.register(affected_subject_ids=[erased, stays],
                               reporter={"name": "Reporter", "email": "r@example.org",
                                         "subject_id": erased})
    path = f"/v1/breaches/{breach['id']}"
    await bs.client.post(f"{path}/assessments", headers=bs.dpo,
                         json={"risk": "high_risk", "reasoning": "Exposed results."})
    await bs.client.post(f"{path}/people-notices", headers=bs.dpo, json={})
    before = (await bs.client.get(path, headers=bs.dpo)).json()
    export = (await bs.client.get(f"/internal/subjects/{erased}/export",
                                  headers=service_auth())).json()["data"]
    assert [b["breach_id"] for b in export["breaches_affecting_you"]] == [breach["id"]]
    assert export["breaches_you_reported"][0]["email"] == "r@example.org"
    assert len(export["breach_notices_sent_to_you"]) == 1
    timeline_before = (await bs.client.get(f"{path}/timeline", headers=bs.dpo)).json()["items"]

    consumer = bs.app.state.consumer
    await wait_for(lambda: _true(consumer.assigned.is_set()), timeout=30,
                   what="the breach consumer to join its group")
    job = uuid.uuid4()
    request = envelope(
        ErasureRequested(job_id=job, scope=ErasureScope(kind="subject", subject_id=erased),
                         stores=["breach"], deadline_at=datetime.now(UTC) + timedelta(minutes=5)),
        source="retention", subject_id=erased)
    producer = AIOKafkaProducer(bootstrap_servers=bs.suite.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(bs.suite.topic(Topic.ERASURE),
                                     request.model_dump_json().encode(), key=erased.encode())
    finally:
        await producer.stop()
    done = await read_events(bs.suite.kafka_bootstrap, bs.suite.topic(Topic.ERASURE), timeout=30,
                             match=lambda e: e.type == "erasure.completed"
                             and e.data["job_id"] == str(job))
    counts = done[0].data["counts"]
    assert counts["breach_affected_subjects"] == 1
    assert counts["breach_people_notices"] == 1
    assert counts["breach_reporter_contacts"] == 1

    after = (await bs.client.get(path, headers=bs.dpo)).json()
    assert after["facts"] == before["facts"]
    assert after["affected_subjects"] == 2 and after["people_notified"] == 2
    assert after["reporter"] is None
    notice = (await bs.client.get("/v1/breach-notices", headers=bs.dpo,
                                  params={"breach_id": breach["id"]})).json()["items"][0]
    assert notice["affected_subjects"] == 2  # the count stays
    subjects = (await bs.client.get(f"{path}/subjects", headers=bs.dpo)).json()["items"]
    assert [s["subject_id"] for s in subjects] == [stays]
    timeline_after = (await bs.client.get(f"{path}/timeline", headers=bs.dpo)).json()["items"]
    assert timeline_after == timeline_before
    report = (await bs.client.get(f"{path}/authority-report", headers=bs.dpo)).json()
    assert report["people"]["known_affected"] == 2
    mine = await bs.client.get("/v1/breach-notices/mine",
                               headers=auth("participant", tenant=tenant, sub=erased))
    assert mine.json()["items"] == []
    export = (await bs.client.get(f"/internal/subjects/{erased}/export",
                                  headers=service_auth())).json()["data"]
    assert export["breaches_affecting_you"] == [] and export["breaches_you_reported"] == []


async def _true(value: bool) -> bool:
    return value
