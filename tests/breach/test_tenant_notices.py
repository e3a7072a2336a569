"""O27: each affected client organisation is told within 24 hours of discovery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from breach.lookup import SubjectDirectory
from devstack.infra import free_port
from devstack.testing import auth
from privacy_kit.protocol import BreachNoticeDueSoon, BreachNoticeOverdue, payload_of

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


async def _notices(bs, breach_id: str) -> dict[str, dict]:
    r = await bs.client.get("/v1/breach-notices", headers=bs.dpo,
                            params={"breach_id": breach_id, "limit": 200})
    assert r.status_code == 200, r.text
    return {n["tenant_id"]: n for n in r.json()["items"]}


async def _emitted(bs, event_type: str, breach_id: str) -> int:
    """Events written for the wire (the outbox keeps sent rows): exactly what was emitted."""
    return int(await bs.fetchval(
        """SELECT count(*) FROM outbox WHERE envelope->>'type' = $1
           AND envelope->'data'->>'breach_id' = $2""", event_type, breach_id))


async def test_o27_affected_tenants_are_derived_from_subjects_by_asking_training_records(bs) -> None:
    north, south = await bs.tenant("Noord B.V."), await bs.tenant("Zuid B.V.")
    people = [await bs.participant(north), await bs.participant(north), await bs.participant(south)]
    stranger = str(uuid.uuid4())
    breach = await bs.register(affected_subject_ids=[*people, people[0], stranger, "not-an-id"])
    assert breach["affected_subjects"] == 3
    assert breach["unknown_subjects"] == 2  # reported as such, not dropped
    notices = await _notices(bs, breach["id"])
    assert {t: n["affected_subjects"] for t, n in notices.items()} == {north: 2, south: 1}
    r = await bs.client.get(f"/v1/breaches/{breach['id']}/subjects", headers=bs.dpo,
                            params={"lookup": "unknown"})
    assert {s["subject_id"] for s in r.json()["items"]} == {stranger, "not-an-id"}
    opened = await bs.events("breach.tenant_notice_opened", expect=2, breach_id=breach["id"])
    assert {e.tenant_id for e in opened} == {north, south}
    assert {e.data["affected_subjects"] for e in opened} == {2, 1}
    registered = await bs.events("breach.registered", breach_id=breach["id"])
    assert registered[0].data == {"breach_id": breach["id"], "affected_subjects": 3, "tenants": 2,
                                  "unknown_subjects": 2}


async def test_o27_each_tenant_gets_a_notice_due_24_hours_after_discovery(bs) -> None:
    named, found, later = await bs.tenant(), await bs.tenant(), await bs.tenant()
    in_named = [await bs.participant(named) for _ in range(3)]
    person = await bs.participant(found)
    late_person = await bs.participant(later)
    bs.clock.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    breach = await bs.register(discovered_at="2026-03-28T09:30:00+01:00",
                               affected_subject_ids=[person], affected_tenant_ids=[named])
    notices = await _notices(bs, breach["id"])
    for notice in notices.values():
        assert notice["due_at"] == "2026-03-29T08:30:00Z"  # 24 h after discovery, to the minute
        assert notice["due_at_amsterdam"] == "2026-03-29T10:30:00+02:00"  # summer time began
        assert notice["status"] == "open" and notice["minutes_left"] == (20 * 60 + 30)
    assert notices[named]["all_participants_may_be_affected"] is True
    assert notices[named]["participants_in_tenant"] == 3
    assert notices[named]["affected_subjects"] == 0

    # People found later: the named tenant's count follows; a new tenant gets its own notice,
    # due 24 h after it became known (never earlier than 24 h after discovery).
    bs.clock.now = datetime(2026, 3, 29, 14, 0, tzinfo=UTC)
    r = await bs.client.post(f"/v1/breaches/{breach['id']}/subjects", headers=bs.dpo,
                             json={"subject_ids": [*in_named[:2], late_person, person]})
    assert r.status_code == 200, r.text
    assert r.json() == {"added": 3, "unknown": 0, "pending": 0, "tenants_opened": 1,
                        "tenants_updated": 1}
    notices = await _notices(bs, breach["id"])
    assert notices[named]["affected_subjects"] == 2
    assert notices[found]["affected_subjects"] == 1
    assert notices[later]["due_at"] == "2026-03-30T14:00:00Z"
    updated = await bs.events("breach.tenant_notice_updated", breach_id=breach["id"])
    assert updated[0].tenant_id == named and updated[0].data["affected_subjects"] == 2
    breach_now = (await bs.client.get(f"/v1/breaches/{breach['id']}", headers=bs.dpo)).json()
    assert breach_now["affected_subjects"] == 4


async def test_o27_a_tenant_sees_only_its_own_notice_and_acknowledges_it(bs) -> None:
    mine, theirs = await bs.tenant("Eigen B.V."), await bs.tenant("Ander B.V.")
    people = [await bs.participant(mine), await bs.participant(mine), await bs.participant(theirs)]
    bs.clock.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    breach = await bs.register(
        affected_subject_ids=people, nature=["confidentiality"], approx_subjects=3,
        data_categories=["name", "results"], subject_categories=["participants"],
        consequences="Scores seen by an outsider.", measures_taken="Recipient deleted the file.",
        measures_proposed="Second check on exports.")
    beheerder = bs.beheerder(mine)
    r = await bs.client.get("/v1/breach-notices", headers=beheerder)
    assert r.status_code == 200
    items = [n for n in r.json()["items"] if n["breach_id"] == breach["id"]]
    assert len(items) == 1 and all(n["tenant_id"] == mine for n in r.json()["items"])
    notice = items[0]
    assert notice["affected_subjects"] == 2  # their own people only
    content = notice["content"]
    assert content["nature"] == ["confidentiality"]
    assert content["consequences"] == "Scores seen by an outsider."
    assert content["measures_taken"] and content["measures_proposed"]
    assert content["discovered_at_amsterdam"] == "2026-03-28T09:30:00+01:00"
    assert "approx_subjects" not in content  # the platform-wide count is not theirs
    assert notice["contact"]["email"] == "fg@example.org"
    r = await bs.client.get(f"/v1/breach-notices/{notice['id']}/subjects", headers=beheerder)
    assert set(r.json()["items"]) == set(people[:2])

    other_notice = (await _notices(bs, breach["id"]))[theirs]
    other = bs.beheerder(theirs)
    assert (await bs.client.get(f"/v1/breach-notices/{notice['id']}", headers=other)).status_code == 404
    r = await bs.client.post(f"/v1/breach-notices/{notice['id']}/acknowledgement", headers=other)
    assert r.status_code == 404
    r = await bs.client.get("/v1/breach-notices", headers=other, params={"tenant_id": mine})
    assert r.status_code == 403
    r = await bs.client.get("/v1/breach-notices", headers=auth("participant", tenant=mine))
    assert r.status_code == 403
    r = await bs.client.post(f"/v1/breach-notices/{notice['id']}/acknowledgement", headers=bs.dpo)
    assert r.status_code == 403  # staff record a delivery instead

    bs.clock.now = datetime(2026, 3, 28, 13, 7, tzinfo=UTC)
    r = await bs.client.post(f"/v1/breach-notices/{notice['id']}/acknowledgement", headers=beheerder)
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged_at"] == "2026-03-28T13:07:00Z"
    assert r.json()["acknowledged_at_amsterdam"] == "2026-03-28T14:07:00+01:00"
    assert r.json()["status"] == "notified" and r.json()["notified_via"] == "acknowledged"
    bs.clock.now = datetime(2026, 3, 28, 14, 0, tzinfo=UTC)
    again = await bs.client.post(f"/v1/breach-notices/{notice['id']}/acknowledgement",
                                 headers=beheerder)
    assert again.json()["acknowledged_at"] == "2026-03-28T13:07:00Z"  # the first time is kept
    notified = await bs.events("breach.tenant_notified", breach_id=breach["id"])
    assert notified[0].tenant_id == mine and notified[0].data["late"] is False

    r = await bs.client.post(f"/v1/breach-notices/{other_notice['id']}/deliveries", headers=bs.dpo,
                             json={"via": "phone", "delivered_at": "2026-03-28T14:30:00+01:00"})
    assert r.status_code == 200, r.text
    assert r.json()["notified_at"] == "2026-03-28T13:30:00Z" and r.json()["acknowledged_at"] is None


async def test_o27_due_soon_and_overdue_at_exact_minutes_across_a_dst_change(bs) -> None:
    tenant = await bs.tenant()
    person = await bs.participant(tenant)
    # Discovered on Saturday 28 March 2026, 10:00 CET; the clocks go forward that night.
    # (Arithmetic on an aware datetime in a ZoneInfo zone is wall-clock arithmetic: exactly
    # the mistake under test. Count real minutes in UTC.)
    discovered = datetime(2026, 3, 28, 10, 0, tzinfo=AMSTERDAM).astimezone(UTC)
    bs.clock.now = discovered + timedelta(hours=1)
    breach = await bs.register(discovered_at=discovered.astimezone(AMSTERDAM).isoformat(),
                               affected_subject_ids=[person])
    notice = (await _notices(bs, breach["id"]))[tenant]
    # 24 real hours later is 11:00 on the Amsterdam wall clock (CEST), not 10:00.
    assert notice["due_at"] == "2026-03-29T09:00:00Z"
    assert notice["due_at_amsterdam"] == "2026-03-29T11:00:00+02:00"

    await bs.sweep(discovered + timedelta(hours=19, minutes=59))  # 4 h 01 min left: quiet
    assert await _emitted(bs, "breach.notice_due_soon", breach["id"]) == 0

    at_23_59 = discovered + timedelta(hours=23, minutes=59)  # 10:59 CEST: a wall-clock bug says late
    bs.clock.now = at_23_59
    await bs.sweep(at_23_59)
    await bs.sweep(at_23_59 + timedelta(seconds=30))
    assert await _emitted(bs, "breach.notice_due_soon", breach["id"]) == 1  # once
    assert await _emitted(bs, "breach.notice_overdue", breach["id"]) == 0
    r = await bs.client.get("/v1/breaches/deadlines", headers=bs.dpo, params={"limit": 200})
    mine = [d for d in r.json()["items"] if d["breach_id"] == breach["id"]]
    assert [(d["kind"], d["status"], d["minutes_left"]) for d in mine] == [("tenant", "due_soon", 1)]
    assert mine[0]["due_at_amsterdam"] == "2026-03-29T11:00:00+02:00"
    due_soon = await bs.events("breach.notice_due_soon", breach_id=breach["id"])
    assert payload_of(due_soon[0], BreachNoticeDueSoon).minutes_left == 1
    assert due_soon[0].tenant_id == tenant

    at_24_01 = discovered + timedelta(hours=24, minutes=1)
    bs.clock.now = at_24_01
    await bs.sweep(at_24_01)
    await bs.sweep(at_24_01 + timedelta(minutes=5))
    assert await _emitted(bs, "breach.notice_overdue", breach["id"]) == 1  # once
    overdue = await bs.events("breach.notice_overdue", breach_id=breach["id"])
    assert payload_of(overdue[0], BreachNoticeOverdue).minutes_overdue == 1
    r = await bs.client.get("/v1/breaches/deadlines", headers=bs.dpo, params={"limit": 200})
    mine = [d for d in r.json()["items"] if d["breach_id"] == breach["id"]]
    assert [(d["status"], d["minutes_left"]) for d in mine] == [("overdue", -1)]
    listed = await bs.client.get("/v1/breaches", headers=bs.dpo,
                                 params={"overdue": "true", "limit": 200})
    assert breach["id"] in {b["id"] for b in listed.json()["items"]}
    entries = (await bs.client.get(f"/v1/breaches/{breach['id']}/timeline", headers=bs.dpo)).json()
    assert [e["kind"] for e in entries["items"]][-2:] == ["notice_due_soon", "notice_overdue"]


async def test_o27_subjects_wait_as_pending_while_training_records_is_unreachable(bs) -> None:
    tenant = await bs.tenant()
    person = await bs.participant(tenant)
    settings = bs.app.state.settings.model_copy(
        update={"training_records_url": f"http://127.0.0.1:{free_port()}"})
    real = bs.app.state.directory
    bs.app.state.directory = SubjectDirectory(settings)
    try:
        breach = await bs.register(affected_subject_ids=[person])
    finally:
        await bs.app.state.directory.close()
        bs.app.state.directory = real
    assert breach["pending_subjects"] == 1 and breach["tenant_notices"]["total"] == 0
    now = datetime.now(UTC).replace(microsecond=0)
    await bs.sweep(now)
    after = (await bs.client.get(f"/v1/breaches/{breach['id']}", headers=bs.dpo)).json()
    assert after["pending_subjects"] == 0 and after["affected_subjects"] == 1
    notice = (await _notices(bs, breach["id"]))[tenant]
    assert notice["affected_subjects"] == 1
    assert notice["due_at"] == (now + timedelta(hours=24)).isoformat().replace("+00:00", "Z")


def _gauge(metrics: str, name: str) -> float:
    return next(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                if line.startswith(name + "{"))


async def test_o27_overdue_notices_are_gauges_on_metrics_for_alerting(bs) -> None:
    tenant = await bs.tenant()
    discovered = datetime.now(UTC) - timedelta(hours=25)
    breach = await bs.register(discovered_at=discovered.isoformat(), affected_tenant_ids=[tenant])
    notice = (await _notices(bs, breach["id"]))[tenant]
    before = (await bs.client.get("/metrics")).text
    overdue = _gauge(before, "privacy_breach_tenant_notices_overdue")
    assert overdue >= 1 and overdue == await bs.fetchval(
        """SELECT count(*) FROM breach_tenant_notification
           WHERE notified_at IS NULL AND due_at < now()""")
    assert _gauge(before, "privacy_breach_tenant_notices_open") >= overdue
    r = await bs.client.post(f"/v1/breach-notices/{notice['id']}/acknowledgement",
                             headers=bs.beheerder(tenant))
    assert r.status_code == 200, r.text
    after = (await bs.client.get("/metrics")).text
    assert _gauge(after, "privacy_breach_tenant_notices_overdue") == overdue - 1
    assert "privacy_breach_authority_reports_overdue{" in after
