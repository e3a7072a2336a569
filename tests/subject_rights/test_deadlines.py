"""O21: four weeks from receipt, counted in Europe/Amsterdam; one extension of up to two months,
only before the first term ends; cases due soon and overdue listed and raised once each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from devstack.testing import auth, read_events, wait_for
from privacy_kit.events import Topic
from privacy_kit.protocol import SubjectRequestDueSoon, SubjectRequestOverdue, payload_of
from subject_rights.deadlines import add_months, due_at, extended_due_at, last_day, local_date
from subject_rights.sweeps import raise_deadlines

DPO = auth("dpo")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(("received", "due", "ends_utc"), [
    # Four weeks end on the same weekday, at the end of the day, local time.
    ("2026-11-18T09:30:00+01:00", "2026-12-16", "2026-12-16T23:00:00+00:00"),
    # Receipt belongs to the local day: 23:30 UTC on 31 March is 1 April in Amsterdam.
    ("2024-03-31T22:30:00+00:00", "2024-04-29", "2024-04-29T22:00:00+00:00"),
    # 29 February counts (leap year) ...
    ("2024-02-01T12:00:00+01:00", "2024-02-29", "2024-02-29T23:00:00+00:00"),
    ("2024-02-29T12:00:00+01:00", "2024-03-28", "2024-03-28T23:00:00+00:00"),
    # ... and a term across February in a common year is still 28 days.
    ("2023-02-01T12:00:00+01:00", "2023-03-01", "2023-03-01T23:00:00+00:00"),
    # Month and year ends.
    ("2025-12-31T08:00:00+01:00", "2026-01-28", "2026-01-28T23:00:00+00:00"),
    ("2026-01-31T08:00:00+01:00", "2026-02-28", "2026-02-28T23:00:00+00:00"),
    # Daylight saving starts (29 March 2026): the term still ends at local midnight (CEST).
    ("2026-03-10T10:00:00+01:00", "2026-04-07", "2026-04-07T22:00:00+00:00"),
    # Daylight saving ends (25 October 2026): local midnight is CET again.
    ("2026-10-10T10:00:00+02:00", "2026-11-07", "2026-11-07T23:00:00+00:00"),
    # Received in the night the clocks go back, in the hour that happens twice.
    ("2026-10-25T02:30:00+02:00", "2026-11-22", "2026-11-22T23:00:00+00:00"),
    ("2026-10-25T02:30:00+01:00", "2026-11-22", "2026-11-22T23:00:00+00:00"),
])
def test_o21_the_term_is_four_weeks_from_receipt_in_amsterdam(received, due, ends_utc) -> None:
    ends = due_at(at(received))
    assert ends == at(ends_utc)
    assert ends.utcoffset() == timedelta(0)  # stored in UTC
    assert last_day(ends) == date.fromisoformat(due)


@pytest.mark.parametrize(("first_due", "months", "extended"), [
    ("2024-01-31", 1, "2024-02-29"),  # no 31 February: the last day of the month (leap year)
    ("2023-01-31", 1, "2023-02-28"),
    ("2023-12-31", 2, "2024-02-29"),
    ("2022-12-31", 2, "2023-02-28"),
    ("2026-04-30", 1, "2026-05-30"),  # the same date, not the month's end
    ("2026-03-31", 2, "2026-05-31"),
    ("2026-11-30", 2, "2027-01-30"),  # across the year end
    ("2026-02-28", 1, "2026-03-28"),  # from a month end to the same date, not to 31 March
])
def test_o21_an_extension_adds_calendar_months_to_the_first_term(first_due, months, extended) -> None:
    first = due_at(datetime.fromisoformat(first_due + "T12:00:00+01:00"), days=0)
    assert last_day(first) == date.fromisoformat(first_due)
    assert last_day(extended_due_at(first, months)) == date.fromisoformat(extended)
    assert add_months(date.fromisoformat(first_due), months) == date.fromisoformat(extended)


def test_o21_an_extension_across_a_dst_change_ends_at_local_midnight() -> None:
    first = due_at(at("2026-02-01T12:00:00+01:00"))  # ends 1 March, winter time
    # The end of 1 April is 2 April 00:00 CEST: 22:00 UTC, no longer 23:00.
    assert extended_due_at(first, 1) == at("2026-04-01T22:00:00+00:00")


def test_o21_an_instant_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError):
        due_at(datetime(2026, 1, 1, 12))


def _days_ago(n: int) -> str:
    return (local_date(datetime.now(UTC)) - timedelta(days=n)).isoformat()


async def _verified_case(rights, tenant, received_days_ago: int = 3):
    person = await rights.participant(tenant)
    filed = await rights.file(rights.beheerder(tenant), kind="access", subject_id=person.id,
                              channel="email", received_on=_days_ago(received_days_ago))
    ok = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/verification", json={},
                              headers=person.auth)
    assert ok.status_code == 200
    return person, filed


async def test_o21_an_entered_request_is_due_four_weeks_after_its_receipt(rights) -> None:
    tenant = await rights.tenant()
    _, filed = await _verified_case(rights, tenant, received_days_ago=10)
    received = date.fromisoformat(_days_ago(10))
    assert filed["due_date"] == (received + timedelta(days=28)).isoformat()
    assert datetime.fromisoformat(filed["due_at"]) == due_at(
        datetime.fromisoformat(filed["received_at"]))


async def test_o21_the_term_is_extended_once_with_a_reason_the_person_is_told(rights) -> None:
    tenant = await rights.tenant()
    person, filed = await _verified_case(rights, tenant)
    url = f"/v1/subject-requests/{filed['id']}/extension"
    beheerder = rights.beheerder(tenant)
    too_long = await rights.sr.post(url, headers=beheerder, json={"months": 3, "reason": "x"})
    assert too_long.status_code == 422
    no_reason = await rights.sr.post(url, headers=beheerder, json={"months": 1})
    assert no_reason.status_code == 422
    extended = await rights.sr.post(url, headers=beheerder, json={
        "months": 2, "reason": "Five years of training records must be gathered."})
    assert extended.status_code == 200, extended.text
    case = extended.json()
    assert case["extended"] and case["extension"]["months"] == 2
    assert case["due_at"] == extended_due_at(
        datetime.fromisoformat(filed["due_at"]), 2).isoformat().replace("+00:00", "Z")
    assert case["extension"]["first_due_at"] == filed["due_at"]
    # The person is told why, by mail and on the case they see.
    async def told():
        return [m for m in rights.mailbox.to(person.email) if "more time" in str(m["Subject"])]
    mail = (await wait_for(told, what="the extension mail"))[0].get_payload(decode=True).decode()
    assert "Five years of training records" in mail
    seen = await rights.case(filed["id"], person.auth)
    assert seen["extension"]["reason"] == "Five years of training records must be gathered."
    assert seen["history"][-1]["action"] == "extended"

    twice = await rights.sr.post(url, headers=beheerder, json={"months": 1, "reason": "more"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_extended"


async def test_o21_an_extension_after_the_first_term_is_refused(rights) -> None:
    tenant = await rights.tenant()
    _, filed = await _verified_case(rights, tenant)
    await rights.sql("subject-rights", "UPDATE subject_request SET due_at = now() - interval "
                     "'1 hour', first_due_at = now() - interval '1 hour' WHERE id = $1::uuid",
                     filed["id"])
    late = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/extension",
                                headers=rights.beheerder(tenant),
                                json={"months": 1, "reason": "We were busy."})
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "first_term_ended"


async def test_o21_cases_due_soon_and_overdue_are_listed_and_raised_once_each(rights) -> None:
    tenant = await rights.tenant()
    beheerder = rights.beheerder(tenant)
    _, soon = await _verified_case(rights, tenant, received_days_ago=26)  # due in two days
    _, late = await _verified_case(rights, tenant, received_days_ago=1)
    _, calm = await _verified_case(rights, tenant, received_days_ago=1)
    await rights.sql("subject-rights", "UPDATE subject_request SET due_at = now() - interval "
                     "'1 day' WHERE id = $1::uuid", late["id"])

    async def listed(due: str) -> set[str]:
        r = await rights.sr.get("/v1/subject-requests", headers=beheerder,
                                params={"tenant_id": tenant, "due": due})
        assert r.status_code == 200, r.text
        return {i["id"] for i in r.json()["items"]}

    assert await listed("soon") == {soon["id"]}
    assert await listed("overdue") == {late["id"]}
    everything = (await rights.sr.get("/v1/subject-requests", headers=beheerder)).json()["items"]
    assert [i["id"] for i in everything][:2] == [late["id"], soon["id"]]  # most urgent first
    assert calm["id"] in {i["id"] for i in everything}
    # The inbox is the kit's Page: keyset-paged, with the sorts it offers.
    pages, cursor = [], None
    while True:
        r = await rights.sr.get("/v1/subject-requests", headers=beheerder, params={
            "limit": 1, "sort": "-received_at", **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        pages.append(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [1, 1, 1]
    assert pages[-1][0]["id"] == soon["id"]  # received longest ago
    bad = await rights.sr.get("/v1/subject-requests", headers=beheerder,
                              params={"sort": "status"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_sort"
    other = await rights.sr.get("/v1/subject-requests", headers=beheerder,
                                params={"sort": "due_at", "cursor": cursor or "bm90IGEgY3Vyc29y"})
    assert other.status_code == 422 and other.json()["error"]["code"] == "invalid_cursor"

    settings = rights.settings["subject-rights"]
    async with rights.apps["subject-rights"].state.pool.acquire() as conn:
        async with conn.transaction():
            first = await raise_deadlines(conn, settings)
        async with conn.transaction():
            second = await raise_deadlines(conn, settings)
    assert first["due_soon"] >= 1 and first["overdue"] >= 1
    assert second == {"due_soon": 0, "overdue": 0}

    ours = {soon["id"], late["id"], calm["id"]}
    events = await read_events(
        rights.suite.kafka_bootstrap, rights.suite.topic(Topic.SUBJECT), expect=2,
        match=lambda e: e.type in ("subject_request.due_soon", "subject_request.overdue")
        and e.data.get("request_id") in ours)
    raised = {(e.type, e.data["request_id"]) for e in events}
    assert raised == {("subject_request.due_soon", soon["id"]),
                      ("subject_request.overdue", late["id"])}
    overdue = next(payload_of(e, SubjectRequestOverdue) for e in events
                   if e.type == "subject_request.overdue")
    assert overdue.kind == "access"
    assert SubjectRequestDueSoon.TYPE == "subject_request.due_soon"
