"""What integrators rely on: one list envelope with cursors, strict query strings, validated
sorting, Idempotency-Key on creating POSTs, and ETag/If-Match on updates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from devstack.testing import auth, read_events
from privacy_kit.events import Topic
from privacy_kit.protocol import ErasureRequested, ErasureScope, envelope


async def test_lists_page_with_cursors_in_the_sort_asked_for(tr) -> None:
    tid = await tr.tenant()
    boss = tr.beheerder(tid)
    names = ["Daan", "Anna", "Emma", "Bram", "Cees"]
    ids = {name: await tr.participant(tid, name=name) for name in names}
    url = f"/v1/tenants/{tid}/participants"

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 2, "sort": "name", **({"cursor": cursor} if cursor else {})}
        r = await tr.client.get(url, headers=boss, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next_cursor"}
        seen += [p["name"] for p in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(names) and pages == 3

    newest_first = (await tr.client.get(url, headers=boss, params={"sort": "-created_at"})).json()
    assert [p["id"] for p in newest_first["items"]] == [ids[n] for n in reversed(names)]

    first = (await tr.client.get(url, headers=boss, params={"limit": 2, "sort": "name"})).json()
    wrong_sort = await tr.client.get(url, headers=boss,
                                     params={"cursor": first["next_cursor"], "sort": "-name"})
    assert wrong_sort.status_code == 422
    assert wrong_sort.json()["error"]["code"] == "invalid_cursor"
    bad_sort = await tr.client.get(url, headers=boss, params={"sort": "email"})
    assert bad_sort.status_code == 422 and bad_sort.json()["error"]["code"] == "invalid_sort"
    assert "-created_at" in bad_sort.json()["error"]["message"]
    too_many = await tr.client.get(url, headers=boss, params={"limit": 201})
    assert too_many.status_code == 422


async def test_unknown_query_parameters_are_refused_on_every_list(tr) -> None:
    tid = await tr.tenant()
    pid = await tr.participant(tid)
    boss = tr.beheerder(tid)
    lists = [
        ("/v1/tenants", tr.operator),
        (f"/v1/tenants/{tid}/participants", boss),
        (f"/v1/tenants/{tid}/beheerders", boss),
        (f"/v1/tenants/{tid}/assignments", boss),
        (f"/v1/tenants/{tid}/results", boss),
        (f"/v1/tenants/{tid}/participants/{pid}/results", boss),
        (f"/v1/tenants/{tid}/participants/{pid}/certificates", boss),
        ("/v1/trainings", boss),
        ("/v1/experts", boss),
    ]
    for url, headers in lists:
        ok = await tr.client.get(url, headers=headers, params={"limit": 1})
        assert ok.status_code == 200, (url, ok.text)
        assert "items" in ok.json() and "next_cursor" in ok.json(), url
        typo = await tr.client.get(url, headers=headers, params={"trainng_id": "x"})
        assert typo.status_code == 422, url
        error = typo.json()["error"]
        assert error["code"] == "unknown_query_parameter", url
        assert "trainng_id" in error["message"] and "limit" in error["message"], url
    not_a_state = await tr.client.get("/v1/tenants", headers=tr.operator,
                                      params={"contract_state": "sleeping"})
    assert not_a_state.status_code == 422


async def test_the_same_idempotency_key_and_body_returns_the_first_answer(tr) -> None:
    key = str(uuid.uuid4())
    body = {"name": f"Retry B.V. {key[:6]}"}
    headers = {**tr.operator, "Idempotency-Key": key}
    first = await tr.client.post("/v1/tenants", headers=headers, json=body)
    again = await tr.client.post("/v1/tenants", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert await tr.fetchval("SELECT count(*) FROM tenant WHERE name = $1", body["name"]) == 1

    other_body = await tr.client.post("/v1/tenants", headers=headers, json={"name": "Another"})
    assert other_body.status_code == 409
    assert other_body.json()["error"]["code"] == "idempotency_key_reused"
    # Keys are the caller's own: another operator's same key is a new request.
    someone_else = await tr.client.post(
        "/v1/tenants", headers={**auth("operator", sub="operator-2"), "Idempotency-Key": key},
        json=body)
    assert someone_else.status_code == 201 and someone_else.json()["id"] != first.json()["id"]
    # A new key makes a new tenant.
    fresh = await tr.client.post("/v1/tenants", json=body,
                                 headers={**tr.operator, "Idempotency-Key": str(uuid.uuid4())})
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]


async def test_idempotency_key_on_participants_and_its_refusals(tr) -> None:
    tid = await tr.tenant()
    boss = {**tr.beheerder(tid), "Idempotency-Key": "register-sanne-1"}
    body = {"name": "Sanne", "email": f"{uuid.uuid4().hex[:8]}@example.org",
            "birth_date": tr.adult()}
    first = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=boss, json=body)
    again = await tr.client.post(f"/v1/tenants/{tid}/participants", headers=boss, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    # Without a key a retry is a second request: here the e-mail is taken.
    plain = await tr.client.post(f"/v1/tenants/{tid}/participants",
                                 headers=tr.beheerder(tid), json=body)
    assert plain.status_code == 409
    too_long = await tr.client.post(f"/v1/tenants/{tid}/participants", json=body,
                                    headers={**tr.beheerder(tid), "Idempotency-Key": "k" * 300})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"] == "invalid_idempotency_key"


async def test_a_stale_if_match_is_refused_on_tenants(tr) -> None:
    tid = await tr.tenant()
    read = await tr.client.get(f"/v1/tenants/{tid}", headers=tr.operator)
    etag = read.headers["etag"]
    url = f"/v1/tenants/{tid}"
    changed = await tr.client.patch(url, headers={**tr.operator, "If-Match": etag},
                                    json={"name": "Acme Opleidingen"})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    stale = await tr.client.patch(url, headers={**tr.operator, "If-Match": etag},
                                  json={"name": "Overwritten"})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    assert stale.headers["etag"] == changed.headers["etag"]
    now = await tr.client.get(url, headers=tr.operator)
    assert now.json()["name"] == "Acme Opleidingen" and now.headers["etag"] == changed.headers["etag"]
    assert (await tr.client.patch(url, headers={**tr.operator, "If-Match": "*"},
                                  json={"contract_state": "suspended"})).status_code == 200


async def test_a_stale_if_match_is_refused_on_participants(tr) -> None:
    tid = await tr.tenant()
    pid = await tr.participant(tid)
    url = f"/v1/tenants/{tid}/participants/{pid}"
    boss = tr.beheerder(tid)
    etag = (await tr.client.get(url, headers=boss)).headers["etag"]
    first = await tr.client.patch(url, headers={**boss, "If-Match": etag}, json={"phone": "0612"})
    assert first.status_code == 200, first.text
    second = await tr.client.patch(url, headers={**boss, "If-Match": etag},
                                   json={"phone": "0699"})
    assert second.status_code == 412
    current = (await tr.client.get(url, headers=boss)).json()
    assert current["phone"] == "0612"
    history = await tr.client.get(f"{url}/rectifications", headers=boss)
    assert [h["new_value"] for h in history.json()["items"]] == ["0612"]


async def test_o25_erasure_forgets_kept_idempotent_answers_about_the_person(events_ready) -> None:
    tr = events_ready
    tid = await tr.tenant()
    body = {"name": "Kees", "email": f"{uuid.uuid4().hex[:8]}@example.org",
            "birth_date": tr.adult()}
    created = await tr.client.post(f"/v1/tenants/{tid}/participants", json=body,
                                   headers={**tr.beheerder(tid), "Idempotency-Key": "kees-1"})
    pid = created.json()["id"]
    kept = "SELECT count(*) FROM idempotency_key WHERE position(convert_to($1, 'UTF8') IN body) > 0"
    assert await tr.fetchval(kept, pid) == 1
    job = str(uuid.uuid4())
    await tr.publish(Topic.ERASURE, envelope(ErasureRequested(
        job_id=job, stores=["training-records"], scope=ErasureScope(kind="subject", subject_id=pid),
        deadline_at=datetime.now(UTC) + timedelta(hours=1)), source="retention", subject_id=pid))
    await read_events(tr.suite.kafka_bootstrap, tr.suite.topic(Topic.ERASURE), timeout=30,
                      match=lambda e: e.type == "erasure.completed" and e.data["job_id"] == job)
    assert await tr.fetchval(kept, pid) == 0
