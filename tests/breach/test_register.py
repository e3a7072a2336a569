"""O26: every breach is registered with its facts, effects and measures; nothing is edited in place."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from breach.register.service import replay
from devstack.testing import auth
from privacy_kit.protocol import BreachRegistered, payload_of

FULL = {
    "title": "Course files readable through a public link",
    "description": "A storage bucket with course exports was readable by anyone with the link.",
    "occurred_from": "2026-03-20T08:00:00+01:00",
    "occurred_until": "2026-03-27T17:30:00+01:00",
    "discovered_at": "2026-03-28T09:30:00+01:00",
    "aware_at": "2026-03-28T11:00:00+01:00",
    "nature": ["confidentiality"],
    "cause": "A sharing setting changed during a migration.",
    "data_categories": ["name", "e-mail address", "training results"],
    "subject_categories": ["participants"],
    "approx_subjects": 250,
    "approx_records": 1000,
    "unintelligible": False,
    "consequences": "Results could be seen by outsiders.",
    "measures_taken": "Link revoked.",
    "measures_proposed": "Sharing settings are checked after every migration.",
    "ongoing": True,
    "platform_role": "both",
    "cross_border": True,
    "member_states": ["BE"],
    "reporter": {"name": "Pieter Jansen", "email": "pieter@example.org", "phone": "+31 6 1234 5678",
                 "organisation": "Security researcher"},
}


async def test_o26_every_fact_is_kept_and_the_current_view_is_derived_from_the_timeline(bs) -> None:
    tenant = await bs.tenant()
    person = await bs.participant(tenant)
    bs.clock.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    breach = await bs.register(**FULL, affected_subject_ids=[person])
    assert breach["facts"] == {**{k: v for k, v in FULL.items() if k != "reporter"},
                               "occurred_from": "2026-03-20T07:00:00Z",
                               "occurred_until": "2026-03-27T16:30:00Z",
                               "discovered_at": "2026-03-28T08:30:00Z",
                               "aware_at": "2026-03-28T10:00:00Z", "unintelligible_how": ""}
    assert breach["reporter"]["email"] == "pieter@example.org"
    assert breach["occurred_from_amsterdam"] == "2026-03-20T08:00:00+01:00"
    assert breach["aware_at_amsterdam"] == "2026-03-28T11:00:00+01:00"
    assert breach["authority"]["due_at"] == "2026-03-31T10:00:00Z"  # 72 h after awareness
    assert breach["authority"]["due_at_amsterdam"] == "2026-03-31T12:00:00+02:00"  # summer time
    assert breach["affected_subjects"] == 1
    path = f"/v1/breaches/{breach['id']}"

    bs.clock.now = datetime(2026, 3, 28, 15, 0, tzinfo=UTC)
    r = await bs.client.post(f"{path}/follow-ups", headers=bs.dpo, json={
        "approx_records": 1200, "ongoing": False, "occurred_until": "2026-03-28T10:40:00+01:00",
        "note": "Scope confirmed with the hosting provider."})
    assert r.status_code == 200, r.text
    assert r.json()["facts"]["approx_records"] == 1200
    assert r.json()["facts"]["ongoing"] is False
    assert r.json()["facts"]["measures_taken"] == "Link revoked."  # untouched facts stay
    r = await bs.client.post(f"{path}/assessments", headers=bs.dpo, json={
        "risk": "risk", "reasoning": "Results of adults; no contact data beyond e-mail."})
    assert r.status_code == 200, r.text
    assert r.json()["assessment"]["risk"] == "risk"
    r = await bs.client.post(f"{path}/transitions", headers=bs.dpo, json={"to": "contained"})
    assert r.json()["state"] == "contained"
    r = await bs.client.post(f"{path}/notes", headers=bs.dpo, json={"text": "Logs kept."})
    assert r.status_code == 201

    r = await bs.client.get(f"{path}/timeline", headers=bs.dpo)
    entries = r.json()["items"]
    kinds = [e["kind"] for e in entries]
    assert kinds == ["reported", "tenant_notice_opened", "subjects_added", "follow_up", "assessed",
                     "state_changed", "note"]
    assert all(e["actor"] and e["at"] and e["at_amsterdam"] for e in entries)
    assert entries[3]["data"]["changes"] == {"approx_records": 1200, "ongoing": False,
                                             "occurred_until": "2026-03-28T09:40:00Z"}
    assert entries[3]["at"] == "2026-03-28T15:00:00Z"
    # No subject id, no reporter contact on the timeline.
    assert person not in json.dumps(entries) and "pieter" not in json.dumps(entries)

    current = (await bs.client.get(path, headers=bs.dpo)).json()
    async with bs.app.state.pool.acquire() as conn:
        derived = await replay(conn, breach["id"])
    assert derived == {"facts": current["facts"], "state": "contained", "risk": "risk"}

    registered = await bs.events("breach.registered", breach_id=breach["id"])
    assert payload_of(registered[0], BreachRegistered).affected_subjects == 1
    updated = await bs.events("breach.updated", breach_id=breach["id"])
    assert set(updated[0].data["fields"]) == {"approx_records", "ongoing", "occurred_until"}
    for event in registered + updated:
        assert "bucket" not in event.model_dump_json() and person not in event.model_dump_json()


async def test_o26_a_time_without_an_offset_or_in_the_future_is_refused(bs) -> None:
    base = {"title": "Lost laptop", "description": "Unencrypted laptop lost on a train."}
    r = await bs.client.post("/v1/breaches", headers=bs.dpo,
                             json={**base, "discovered_at": "2026-03-28T09:30:00"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"
    assert "offset" in r.json()["error"]["message"]
    assert "discovered_at" in r.json()["error"]["message"]

    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = await bs.client.post("/v1/breaches", headers=bs.dpo, json={**base, "discovered_at": future})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "time_in_future"
    assert "discovered_at" in r.json()["error"]["message"]

    r = await bs.client.post("/v1/breaches", headers=bs.dpo, json={
        **base, "discovered_at": "2026-03-28T09:30:00Z", "aware_at": "2026-03-28T08:00:00Z"})
    assert r.status_code == 422
    assert "aware_at lies before discovered_at" in r.json()["error"]["message"]
    assert await bs.fetchval("SELECT count(*) FROM breach WHERE title = 'Lost laptop'") == 0


async def test_o26_the_timeline_cannot_be_edited(bs) -> None:
    breach = await bs.register()
    await bs.client.post(f"/v1/breaches/{breach['id']}/notes", headers=bs.dpo,
                         json={"text": "First note."})
    async with bs.app.state.pool.acquire() as conn:
        before = await conn.fetch("SELECT * FROM breach_timeline WHERE breach_id = $1 ORDER BY id",
                                  breach["id"])
        for statement in (
            "UPDATE breach_timeline SET data = '{}' WHERE breach_id = $1",
            "DELETE FROM breach_timeline WHERE breach_id = $1",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(statement, breach["id"])
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("TRUNCATE breach_timeline CASCADE")
        after = await conn.fetch("SELECT * FROM breach_timeline WHERE breach_id = $1 ORDER BY id",
                                 breach["id"])
    assert after == before and len(after) == 2


async def test_o26_states_move_along_recorded_transitions_only(bs) -> None:
    tenant = await bs.tenant()
    breach = await bs.register(affected_subject_ids=[await bs.participant(tenant)])
    path = f"/v1/breaches/{breach['id']}"
    r = await bs.client.post(f"{path}/transitions", headers=bs.dpo, json={"to": "closed"})
    assert r.status_code == 409 and "not assessed" in r.json()["error"]["message"]
    await bs.client.post(f"{path}/assessments", headers=bs.dpo,
                         json={"risk": "risk", "reasoning": "Contact data of adults."})
    r = await bs.client.post(f"{path}/transitions", headers=bs.dpo, json={"to": "notified"})
    assert r.status_code == 409
    assert "1 tenant notice(s)" in r.json()["error"]["message"]
    assert "Autoriteit Persoonsgegevens" in r.json()["error"]["message"]
    for to in ("investigating", "contained", "closed"):
        r = await bs.client.post(f"{path}/transitions", headers=bs.dpo, json={"to": to})
        assert r.status_code == 200, r.text
    r = await bs.client.post(f"{path}/transitions", headers=bs.dpo, json={"to": "contained"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    timeline = (await bs.client.get(f"{path}/timeline", headers=bs.dpo)).json()["items"]
    moves = [(e["data"]["from"], e["data"]["to"]) for e in timeline if e["kind"] == "state_changed"]
    assert moves == [("reported", "investigating"), ("investigating", "contained"),
                     ("contained", "closed")]


async def test_o26_the_register_lists_by_state_and_overdue_with_paging(bs) -> None:
    tenant = await bs.tenant()
    person = await bs.participant(tenant)
    bs.clock.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    late = await bs.register(title="Late one", discovered_at="2026-03-26T09:00:00Z",
                             affected_subject_ids=[person])
    bs.clock.now = datetime(2026, 3, 28, 12, 1, tzinfo=UTC)
    fresh = await bs.register(title="Fresh one", discovered_at="2026-03-28T11:00:00Z")
    r = await bs.client.get("/v1/breaches", headers=bs.dpo, params={"overdue": "true", "limit": 200})
    ids = {b["id"] for b in r.json()["items"]}
    assert late["id"] in ids and fresh["id"] not in ids
    r = await bs.client.get("/v1/breaches", headers=bs.dpo, params={"overdue": "false", "limit": 200})
    assert fresh["id"] in {b["id"] for b in r.json()["items"]}

    seen: list[dict] = []
    params = {"state": "reported", "limit": 2}
    while True:
        page = (await bs.client.get("/v1/breaches", headers=bs.dpo, params=params)).json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        if not page["next_cursor"]:
            break
        params = {**params, "cursor": page["next_cursor"]}
    order = [b["id"] for b in seen]
    assert len(order) == len(set(order))
    assert order.index(fresh["id"]) < order.index(late["id"])  # newest first
    assert all(b["state"] == "reported" for b in seen)
    listed_late = seen[order.index(late["id"])]
    assert listed_late["overdue"] is True and listed_late["tenants"] == 1

    # ?sort= (the kit's sorting): oldest discovery first, paged in that order too.
    seen = []
    params = {"state": "reported", "limit": 2, "sort": "discovered_at"}
    while True:
        page = (await bs.client.get("/v1/breaches", headers=bs.dpo, params=params)).json()
        seen += page["items"]
        if not page["next_cursor"]:
            break
        params = {**params, "cursor": page["next_cursor"]}
    discovered = [datetime.fromisoformat(b["discovered_at"]) for b in seen]
    assert discovered == sorted(discovered) and len({b["id"] for b in seen}) == len(seen)
    assert {late["id"], fresh["id"]} <= {b["id"] for b in seen}
    r = await bs.client.get("/v1/breaches", headers=bs.dpo, params={"sort": "title"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_sort"
    first = (await bs.client.get("/v1/breaches", headers=bs.dpo,
                                 params={"limit": 1, "sort": "discovered_at"})).json()
    r = await bs.client.get("/v1/breaches", headers=bs.dpo,
                            params={"sort": "-discovered_at", "cursor": first["next_cursor"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_cursor"
    r = await bs.client.get("/v1/breaches", headers=auth("beheerder", tenant=tenant))
    assert r.status_code == 403


async def test_o26_the_openapi_carries_a_register_example_that_registers(bs) -> None:
    spec = (await bs.client.get("/openapi.json")).json()
    media = spec["paths"]["/v1/breaches"]["post"]["requestBody"]["content"]["application/json"]
    example = media["examples"]["processor"]["value"]
    r = await bs.client.post("/v1/breaches", headers=bs.dpo, json=example)
    assert r.status_code == 201, r.text
    assert r.json()["unknown_subjects"] == 1  # the example's id is nobody's here
    assert "without naming or identifying anyone" in spec["components"]["schemas"]["BreachCreate"]["properties"][
        "description"]["description"]


async def test_o26_a_breach_naming_150000_people_is_taken_whole(bs) -> None:
    """A breach may name up to 200,000 affected people: a body of several MiB, above the
    kit's 1 MiB default, reaches the register instead of a 413 (the bench registers 100,000)."""
    tenant = await bs.tenant()
    person = await bs.participant(tenant)
    strangers = [str(uuid.uuid4()) for _ in range(149_999)]
    breach = await bs.register(affected_subject_ids=[person, *strangers])
    assert breach["affected_subjects"] == 1  # the one person a store knows
    assert breach["unknown_subjects"] == 149_999
    assert breach["tenant_notices"]["total"] == 1
