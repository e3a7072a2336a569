"""The consent service through HTTP, on real PostgreSQL and the broker (O6, O9-O14, O19, O25)."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from datetime import UTC, date, datetime, timedelta

from aiokafka import AIOKafkaProducer

from consent.ledger import chain
from consent.settings import DEV_LEDGER_KEY
from devstack.testing import auth, read_events, service_auth, wait_for
from privacy_kit.events import Topic
from privacy_kit.protocol import ErasureRequested, ErasureScope, envelope

SEEDED = {"newsletter", "service-email", "analytics", "session-recording", "advertising",
          "third-party-sharing", "anonymised-research", "anonymised-data"}
CHAIN_FIELDS = {"id", "chain_index", "prev_hash", "hash"}


def new_subject() -> str:
    return f"sub-{uuid.uuid4().hex[:12]}"


def me(sub: str) -> dict[str, str]:
    return auth("participant", tenant="t1", sub=sub)


async def put(consent, sub: str, purpose: str, body: dict, headers: dict | None = None):
    return await consent.client.put(f"/v1/subjects/{sub}/consents/{purpose}", json=body,
                                    headers=headers or me(sub))


async def state(consent, sub: str, headers: dict | None = None) -> dict:
    response = await consent.client.get(f"/v1/subjects/{sub}/consents", headers=headers or me(sub))
    assert response.status_code == 200, response.text
    return response.json()


async def test_o9_seeded_purposes_and_policy_versions_are_public(consent) -> None:
    purposes = (await consent.client.get("/v1/purposes")).json()["items"]
    by_id = {p["id"]: p for p in purposes}
    assert set(by_id) == SEEDED
    assert by_id["analytics"]["vendors"] == ["Google Analytics"]
    assert by_id["session-recording"]["vendors"] == ["Hotjar"]
    assert set(by_id["advertising"]["vendors"]) == {"Google Ads", "Facebook", "LinkedIn", "HubSpot"}
    assert by_id["advertising"]["cookie_category"] == "marketing"
    assert by_id["newsletter"]["direct_marketing"] is True
    assert by_id["analytics"]["legal_basis"] == "consent"
    policies = (await consent.client.get("/v1/policies")).json()["items"]
    assert policies and policies[-1]["changelog"]
    assert sum(p["current"] for p in policies) == 1


async def test_o9_grant_is_recorded_with_when_which_version_and_how(consent) -> None:
    sub = new_subject()
    response = await put(consent, sub, "newsletter", {"granted": True})
    assert response.status_code == 200, response.text
    record = response.json()
    current = next(p for p in (await consent.client.get("/v1/policies")).json()["items"] if p["current"])
    assert record["subject_id"] == sub and record["purpose"] == "newsletter"
    assert record["granted"] is True and record["method"] == "api"
    assert record["policy_version"] == current["version"]
    assert record["actor"] == {"sub": sub, "role": "participant", "on_behalf": False}
    assert record["tenant_id"] == "t1" and record["recorded_at"]
    assert record["effective"]["granted"] is True

    body = await state(consent, sub)
    assert body["consents"]["newsletter"]["granted"] is True
    assert body["consents"]["newsletter"]["source"] == "record"
    assert body["consents"]["analytics"] == {**body["consents"]["analytics"],
                                             "granted": False, "source": "default"}
    # Opt-out purposes (legitimate interest) are on until refused.
    assert body["consents"]["anonymised-data"]["granted"] is True


async def test_o11_withdrawal_keeps_the_earlier_record_and_the_chain_verifies(consent) -> None:
    sub = new_subject()
    granted = (await put(consent, sub, "analytics", {"granted": True, "method": "banner"})).json()
    withdrawn = (await put(consent, sub, "analytics", {"granted": False,
                                                       "method": "settings_page"})).json()
    history = (await consent.client.get(f"/v1/subjects/{sub}/consents/history",
                                        headers=me(sub))).json()["items"]
    assert [(r["granted"], r["method"]) for r in history] == [(True, "banner"),
                                                              (False, "settings_page")]
    assert history[0]["id"] == granted["id"] and history[0]["hash"] == granted["hash"]
    assert withdrawn["prev_hash"] == granted["hash"]
    assert (await state(consent, sub))["consents"]["analytics"]["granted"] is False
    check = (await consent.client.get(f"/v1/subjects/{sub}/consents/verification",
                                      headers=me(sub))).json()
    assert check == {"subject_id": sub, "valid": True, "records": 2,
                     "head_hash": withdrawn["hash"], "problems": []}


async def test_o11_changes_arriving_at_once_keep_one_linear_chain(consent) -> None:
    """The subject's chain lock is taken with the purpose lookup: twelve changes sent together
    still get twelve consecutive chain positions, each linked to the one before."""
    sub = new_subject()
    purposes = ("analytics", "newsletter", "advertising")
    answers = await asyncio.gather(*(
        put(consent, sub, purposes[i % 3], {"granted": i % 2 == 0}) for i in range(12)))
    assert [a.status_code for a in answers] == [200] * 12, [a.text for a in answers]
    history = (await consent.client.get(f"/v1/subjects/{sub}/consents/history",
                                        headers=me(sub))).json()["items"]
    assert [r["chain_index"] for r in history] == list(range(12))
    assert all(r["prev_hash"] == before["hash"] for before, r in itertools.pairwise(history))
    check = (await consent.client.get(f"/v1/subjects/{sub}/consents/verification",
                                      headers=me(sub))).json()
    assert check["valid"] is True and check["records"] == 12


async def test_o9_a_change_of_an_unknown_purpose_takes_no_lock_and_is_404(consent) -> None:
    sub = new_subject()
    missing = await put(consent, sub, "no-such-purpose", {"granted": True})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "purpose_not_found"
    assert (await put(consent, sub, "analytics", {"granted": True})).status_code == 200


async def test_o11_tampering_with_a_stored_record_fails_verification(consent) -> None:
    sub = new_subject()
    first = (await put(consent, sub, "advertising", {"granted": False})).json()
    await put(consent, sub, "newsletter", {"granted": True})
    async with consent.app.state.pool.acquire() as conn:
        refused = None
        try:
            await conn.execute("UPDATE consent_record SET granted = true WHERE id = $1",
                               uuid.UUID(first["id"]))
        except Exception as exc:  # the ledger is append-only
            refused = str(exc)
        assert refused and "append-only" in refused
        # Someone with superuser rights goes around the trigger.
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("UPDATE consent_record SET granted = true WHERE id = $1",
                               uuid.UUID(first["id"]))
    check = (await consent.client.get(f"/v1/subjects/{sub}/consents/verification",
                                      headers=me(sub))).json()
    assert check["valid"] is False
    assert [(p["record_id"], p["chain_index"]) for p in check["problems"]] == [(first["id"], 0)]
    assert "altered" in check["problems"][0]["problem"]


async def test_o11_delete_is_refused_and_a_record_deleted_around_it_breaks_the_chain(
    consent,
) -> None:
    sub = new_subject()
    records = [(await put(consent, sub, "analytics", {"granted": g})).json()
               for g in (True, False, True)]
    async with consent.app.state.pool.acquire() as conn:
        refused = None
        try:
            await conn.execute("DELETE FROM consent_record WHERE id = $1",
                               uuid.UUID(records[1]["id"]))
        except Exception as exc:  # DELETE is blocked as UPDATE is
            refused = str(exc)
        assert refused and "append-only" in refused
        # Another subject's erasure does not open this subject's chain.
        async with conn.transaction():
            await conn.execute("SELECT set_config('consent.erasing_subject', 'someone-else', true)")
            try:
                async with conn.transaction():
                    await conn.execute("DELETE FROM consent_record WHERE subject_id = $1", sub)
            except Exception as exc:
                refused = str(exc)
        assert "append-only" in refused
        assert len(await conn.fetch("SELECT 1 FROM consent_record WHERE subject_id = $1", sub)) == 3
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("DELETE FROM consent_record WHERE id = $1",
                               uuid.UUID(records[1]["id"]))
    check = (await consent.client.get(f"/v1/subjects/{sub}/consents/verification",
                                      headers=me(sub))).json()
    assert check["valid"] is False and check["records"] == 2
    assert {p["record_id"] for p in check["problems"]} == {records[2]["id"]}


async def test_o11_a_consistent_rewrite_with_database_rights_is_caught_by_the_seal(consent) -> None:
    """Someone with database rights flips a refusal into a grant and recomputes every unkeyed
    hash after it: the chain alone is consistent again, the seals (keyed) are not."""
    sub = new_subject()
    refusal = (await put(consent, sub, "advertising", {"granted": False})).json()
    await put(consent, sub, "newsletter", {"granted": True})
    await put(consent, sub, "analytics", {"granted": False})
    async with consent.app.state.pool.acquire() as conn:
        rows = [dict(r) for r in await conn.fetch(
            "SELECT * FROM consent_record WHERE subject_id = $1 ORDER BY chain_index", sub)]
        rows[0]["granted"] = True
        prev_hash = chain.GENESIS
        for row in rows:
            row["prev_hash"] = prev_hash
            row["hash"] = prev_hash = chain.record_hash(row)
        assert chain.verify(rows) == []  # the unkeyed rule would call this chain genuine
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.executemany(
                "UPDATE consent_record SET granted = $2, prev_hash = $3, hash = $4 WHERE id = $1",
                [(r["id"], r["granted"], r["prev_hash"], r["hash"]) for r in rows])
    assert (await state(consent, sub))["consents"]["advertising"]["recorded_granted"] is True
    check = (await consent.client.get(f"/v1/subjects/{sub}/consents/verification",
                                      headers=me(sub))).json()
    assert check["valid"] is False
    assert [p["chain_index"] for p in check["problems"]] == [0, 1, 2]
    assert check["problems"][0]["record_id"] == refusal["id"]
    assert all("seal does not match" in p["problem"] for p in check["problems"])
    # Dropping the seals does not help either.
    async with consent.app.state.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("UPDATE consent_record SET seal = NULL WHERE subject_id = $1", sub)
    check = (await consent.client.get(f"/v1/subjects/{sub}/consents/verification",
                                      headers=me(sub))).json()
    assert check["valid"] is False
    assert all("not sealed" in p["problem"] for p in check["problems"])


async def test_o3_only_the_person_or_staff_on_their_behalf_change_consent(consent) -> None:
    sub, other = new_subject(), new_subject()
    assert (await put(consent, sub, "newsletter", {"granted": True}, me(other))).status_code == 403
    beheerder = await put(consent, sub, "newsletter", {"granted": True},
                          auth("beheerder", tenant="t1", sub=new_subject()))
    assert beheerder.status_code == 403
    assert "Beheerder may not change" in beheerder.json()["error"]["message"]
    no_token = await consent.client.put(f"/v1/subjects/{sub}/consents/newsletter",
                                        json={"granted": True})
    assert no_token.status_code == 401 and no_token.json()["error"]["code"] == "missing_token"
    assert (await consent.client.get(f"/v1/subjects/{sub}/consents",
                                     headers=me(other))).status_code == 403
    staff = "dpo-anne"
    on_behalf = await put(consent, sub, "newsletter", {"granted": False, "tenant_id": "t1"},
                          auth("dpo", sub=staff))
    assert on_behalf.status_code == 200, on_behalf.text
    assert on_behalf.json()["actor"] == {"sub": staff, "role": "dpo", "on_behalf": True}
    body = await state(consent, sub, auth("operator", sub="op-1"))
    assert body["consents"]["newsletter"]["granted"] is False


async def test_o9_bad_input_gets_a_clear_4xx(consent) -> None:
    sub = new_subject()
    cases = [
        ("no-such-purpose", {"granted": True}, 404, "purpose_not_found"),
        ("newsletter", {"granted": "yes"}, 422, "invalid_request"),
        ("newsletter", {}, 422, "invalid_request"),
        ("newsletter", {"granted": True, "colour": "red"}, 422, "invalid_request"),
        ("newsletter", {"granted": True, "method": "telepathy"}, 422, "invalid_request"),
        ("newsletter", {"granted": True, "method": "import"}, 422, "import_is_for_staff"),
        ("newsletter", {"granted": True, "policy_version": "0.1"}, 422,
         "policy_version_not_current"),
        ("newsletter", {"granted": True, "tenant_id": "t2"}, 422, "tenant_from_token"),
    ]
    for purpose, body, status, code in cases:
        response = await put(consent, sub, purpose, body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
        assert response.json()["error"]["message"]
    bad_receipt = await consent.client.get(
        f"/v1/subjects/{sub}/consents/records/not-a-uuid/receipt", headers=me(sub))
    assert bad_receipt.status_code == 422
    assert (await consent.client.get("/v1/purposes/nope")).status_code == 404


async def test_o9_staff_add_and_retire_purposes_and_history_stays(consent) -> None:
    sub, dpo = new_subject(), auth("dpo", sub="dpo-1")
    slug = f"webinars-{uuid.uuid4().hex[:6]}"
    body = {"id": slug, "name": "Webinar invitations", "legal_basis": "consent",
            "direct_marketing": True}
    assert (await consent.client.post("/v1/purposes", json=body,
                                      headers=me(sub))).status_code == 403
    created = await consent.client.post("/v1/purposes", json=body, headers=dpo)
    assert created.status_code == 201, created.text
    assert (await consent.client.post("/v1/purposes", json=body, headers=dpo)).status_code == 409
    opt_out_consent = {**body, "id": f"x-{slug}", "default_granted": True}
    assert (await consent.client.post("/v1/purposes", json=opt_out_consent,
                                      headers=dpo)).status_code == 422
    assert (await put(consent, sub, slug, {"granted": True})).status_code == 200

    retired = await consent.client.post(f"/v1/purposes/{slug}/retire", headers=dpo)
    assert retired.status_code == 200 and retired.json()["retired_at"]
    assert slug not in {p["id"] for p in (await consent.client.get("/v1/purposes")).json()["items"]}
    everything = (await consent.client.get("/v1/purposes?include_retired=true")).json()["items"]
    assert slug in {p["id"] for p in everything}
    again = await put(consent, sub, slug, {"granted": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "purpose_retired"
    effective = (await state(consent, sub))["consents"][slug]
    assert (effective["granted"], effective["source"], effective["retired"]) == (False, "retired",
                                                                                 True)
    history = (await consent.client.get(f"/v1/subjects/{sub}/consents/history?purpose={slug}",
                                        headers=me(sub))).json()["items"]
    assert [r["granted"] for r in history] == [True]
    assert (await put(consent, sub, slug, {"granted": False})).status_code == 200


async def test_o14_a_new_policy_version_flags_consents_for_renewal(consent) -> None:
    sub, fresh, dpo = new_subject(), new_subject(), auth("dpo", sub="dpo-1")
    slug = f"research-{uuid.uuid4().hex[:6]}"
    await consent.client.post("/v1/purposes", json={"id": slug, "name": "Research panel"},
                              headers=dpo)
    old = (await put(consent, sub, slug, {"granted": True})).json()
    await put(consent, sub, "newsletter", {"granted": True})
    assert (await state(consent, sub))["consents"][slug]["needs_renewal"] is False

    version = f"v-{uuid.uuid4().hex[:6]}"
    policy = {"version": version, "effective_date": datetime.now(UTC).date().isoformat(),
              "changelog": "Research panel now shares results with a university.",
              "url": f"https://privacy.example.org/policy/{version}",
              "materially_changed_purposes": [slug], "announce": True}
    assert (await consent.client.post("/v1/policies", json=policy,
                                      headers=me(sub))).status_code == 403
    published = await consent.client.post("/v1/policies", json=policy, headers=dpo)
    assert published.status_code == 201, published.text
    assert published.json()["current"] is True
    assert (await consent.client.post("/v1/policies", json=policy, headers=dpo)).status_code == 409
    bad = {**policy, "version": f"{version}b", "materially_changed_purposes": ["nope"]}
    assert (await consent.client.post("/v1/policies", json=bad, headers=dpo)).status_code == 422

    body = await state(consent, sub)
    assert body["policy_version"] == version
    assert body["consents"][slug]["needs_renewal"] is True
    assert body["consents"][slug]["policy_version"] == old["policy_version"]
    assert body["consents"]["newsletter"]["needs_renewal"] is False  # not materially changed
    renewals = (await consent.client.get(f"/v1/consent-renewals?purpose={slug}",
                                         headers=dpo)).json()
    assert renewals["purposes"] == {slug: [sub]}

    renewed = (await put(consent, sub, slug, {"granted": True})).json()
    assert renewed["policy_version"] == version
    assert (await state(consent, sub))["consents"][slug]["needs_renewal"] is False
    fresh_grant = (await put(consent, fresh, slug, {"granted": True})).json()
    assert fresh_grant["effective"]["needs_renewal"] is False


async def test_o10_cookie_choices_without_a_token_default_to_off(consent) -> None:
    created = await consent.client.post("/v1/cookie-choices", json={"analytics": True})
    assert created.status_code == 201, created.text
    cookie_id = created.json()["cookie_id"]
    assert created.json()["choices"] == {"strictly_necessary": True, "functional": False,
                                         "analytics": True, "marketing": False}
    mode = created.json()["consent_mode"]
    assert {k for k, v in mode.items() if v == "granted"} == {
        "security_storage", "analytics_storage"}

    changed = await consent.client.put(f"/v1/cookie-choices/{cookie_id}",
                                       json={"functional": True, "marketing": True})
    assert changed.status_code == 200
    mode = (await consent.client.get(f"/v1/cookie-choices/{cookie_id}")).json()["consent_mode"]
    assert mode == {"ad_storage": "granted", "ad_user_data": "granted",
                    "ad_personalization": "granted", "analytics_storage": "denied",
                    "functionality_storage": "granted", "personalization_storage": "granted",
                    "security_storage": "granted"}
    refused = await consent.client.put(f"/v1/cookie-choices/{cookie_id}",
                                       json={"strictly_necessary": False})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "strictly_necessary_always_on"
    assert (await consent.client.get("/v1/cookie-choices/bad id!")).status_code == 404
    assert (await consent.client.put(f"/v1/cookie-choices/{cookie_id}",
                                     json={"analytics": "please"})).status_code == 422


async def test_o12_gpc_counts_as_refusal_of_advertising_and_sharing(consent) -> None:
    gpc = {"Sec-GPC": "1"}
    created = (await consent.client.post("/v1/cookie-choices", headers=gpc,
                                         json={"analytics": True, "marketing": True})).json()
    assert created["choices"]["marketing"] is False and created["choices"]["analytics"] is True
    assert created["gpc"] is True
    assert created["consent_mode"]["ad_user_data"] == "denied"
    assert created["consent_mode"]["analytics_storage"] == "granted"

    # Chosen without the signal, read with it: advertising is still refused.
    plain = (await consent.client.post("/v1/cookie-choices", json={"marketing": True})).json()
    with_signal = (await consent.client.get(f"/v1/cookie-choices/{plain['cookie_id']}",
                                            headers=gpc)).json()
    assert with_signal["consent_mode"]["ad_storage"] == "denied"

    sub = new_subject()
    for purpose in ("advertising", "third-party-sharing"):
        record = (await put(consent, sub, purpose, {"granted": True}, {**me(sub), **gpc})).json()
        assert (record["granted"], record["gpc"]) == (False, True), purpose
    analytics = (await put(consent, sub, "analytics", {"granted": True},
                           {**me(sub), **gpc})).json()
    assert analytics["granted"] is True and analytics["gpc"] is False

    other = new_subject()
    await put(consent, other, "advertising", {"granted": True})
    seen_with_gpc = await state(consent, other, {**me(other), **gpc})
    assert seen_with_gpc["consents"]["advertising"]["granted"] is False
    assert seen_with_gpc["consents"]["advertising"]["source"] == "gpc"
    assert (await state(consent, other))["consents"]["advertising"]["granted"] is True


async def test_o10_cookie_choices_are_linked_to_the_subject_on_login(consent) -> None:
    sub = new_subject()
    cookie_id = (await consent.client.post(
        "/v1/cookie-choices", json={"analytics": True, "marketing": False})).json()["cookie_id"]
    anonymous = await consent.client.post(f"/v1/cookie-choices/{cookie_id}/link")
    assert anonymous.status_code == 401
    linked = await consent.client.post(f"/v1/cookie-choices/{cookie_id}/link", headers=me(sub))
    assert linked.status_code == 200, linked.text
    assert linked.json()["linked_choices"] == 1
    assert linked.json()["recorded_purposes"] == {"advertising": False, "analytics": True,
                                                  "session-recording": True}
    body = await state(consent, sub)
    assert body["consents"]["analytics"]["granted"] is True
    assert body["consents"]["analytics"]["method"] == "banner"
    assert (await consent.client.get(f"/v1/cookie-choices/{cookie_id}")).json()["linked"] is True
    stranger = await consent.client.post(f"/v1/cookie-choices/{cookie_id}/link",
                                         headers=me(new_subject()))
    assert stranger.status_code == 409
    assert (await consent.client.post("/v1/cookie-choices/no-such-cookie-9/link",
                                      headers=me(sub))).status_code == 404


async def test_o10_only_cookie_ids_the_service_issued_are_accepted(consent) -> None:
    """A client cannot create a record under an id it made up: ids are signed by the server."""
    made_up = "A" * 32 + "." + "B" * 22
    for answer in (
        await consent.client.put(f"/v1/cookie-choices/{made_up}", json={"analytics": True}),
        await consent.client.put("/v1/cookie-choices/my-own-id-123", json={"analytics": True}),
        await consent.client.get(f"/v1/cookie-choices/{made_up}"),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "unknown_cookie_id"
    assert await consent.fetch("SELECT 1 FROM cookie_choice WHERE cookie_id = $1", made_up) == []
    issued = (await consent.client.post("/v1/cookie-choices", json={})).json()["cookie_id"]
    random_part, _, signature = issued.partition(".")
    tampered = f"{random_part[:-1]}{'A' if random_part[-1] != 'A' else 'B'}.{signature}"
    assert (await consent.client.put(f"/v1/cookie-choices/{tampered}", json={})).status_code == 404
    assert (await consent.client.put(f"/v1/cookie-choices/{issued}", json={})).status_code == 200


async def test_o12_an_objection_beats_a_later_marketing_grant_until_lifted(consent) -> None:
    sub = new_subject()
    url = f"/v1/subjects/{sub}/marketing-objection"
    objected = await consent.client.put(url, json={}, headers=me(sub))
    assert objected.status_code == 200, objected.text
    assert objected.json()["purposes"] is None

    grant = (await put(consent, sub, "newsletter", {"granted": True})).json()
    assert grant["granted"] is True  # the person's act is on record ...
    assert grant["effective"]["granted"] is False  # ... but the objection wins
    assert grant["effective"]["source"] == "objection"
    body = await state(consent, sub)
    assert body["objection"]["id"] == objected.json()["id"]
    assert body["consents"]["service-email"]["granted"] is False  # opt-out purpose, also covered
    assert body["consents"]["analytics"]["source"] == "default"  # not direct marketing

    not_marketing = await consent.client.put(url, json={"purposes": ["analytics"]},
                                             headers=me(sub))
    assert not_marketing.status_code == 422
    assert (await consent.client.put(url, json={}, headers=auth(
        "beheerder", tenant="t1", sub="b-1"))).status_code == 403

    lifted = await consent.client.delete(url, headers=me(sub))
    assert lifted.status_code == 200 and lifted.json()["lifted_at"]
    assert (await state(consent, sub))["consents"]["newsletter"]["granted"] is True
    assert (await consent.client.delete(url, headers=me(sub))).status_code == 404

    scoped = await consent.client.put(url, json={"purposes": ["newsletter"]}, headers=me(sub))
    assert scoped.status_code == 200
    body = await state(consent, sub)
    assert body["consents"]["newsletter"]["granted"] is False
    assert body["consents"]["service-email"]["granted"] is True
    listed = (await consent.client.get(f"/v1/subjects/{sub}/marketing-objections",
                                       headers=me(sub))).json()["items"]
    assert [o["lifted_at"] is None for o in listed] == [False, True]


async def test_o6_a_grant_under_16_needs_linked_parental_consent(consent) -> None:
    sub = new_subject()
    today = datetime.now(UTC).date()
    child = date(today.year - 14, 1, 1).isoformat()
    refused = await put(consent, sub, "newsletter", {"granted": True, "birth_date": child})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "parental_consent_required"
    assert "under 16" in refused.json()["error"]["message"]
    # Withdrawal never waits for a parent.
    assert (await put(consent, sub, "newsletter",
                      {"granted": False, "birth_date": child})).status_code == 200
    adult = date(today.year - 30, 1, 1).isoformat()
    assert (await put(consent, sub, "analytics",
                      {"granted": True, "birth_date": adult})).status_code == 200
    future = date(today.year + 1, 1, 1).isoformat()
    assert (await put(consent, sub, "analytics",
                      {"granted": True, "birth_date": future})).status_code == 422

    url = f"/v1/subjects/{sub}/parental-consents"
    proof = {"guardian_reference": "guardian-ref-7", "verification_method": "iDIN bank check"}
    assert (await consent.client.post(url, json=proof, headers=me(sub))).status_code == 403
    created = await consent.client.post(url, json=proof, headers=auth("dpo", sub="dpo-1"))
    assert created.status_code == 201, created.text
    parental_id = created.json()["id"]
    granted = await put(consent, sub, "newsletter",
                        {"granted": True, "birth_date": child, "parental_consent_id": parental_id})
    assert granted.status_code == 200, granted.text
    assert granted.json()["parental_consent_id"] == parental_id
    someone_else = await put(consent, new_subject(), "newsletter",
                             {"granted": True, "birth_date": child,
                              "parental_consent_id": parental_id},
                             auth("dpo", sub="dpo-1"))
    assert someone_else.status_code == 422
    assert someone_else.json()["error"]["code"] == "parental_consent_not_found"


async def test_o19_each_record_has_a_consent_receipt(consent) -> None:
    sub = new_subject()
    record = (await put(consent, sub, "session-recording",
                        {"granted": True, "method": "settings_page"})).json()
    response = await consent.client.get(
        f"/v1/subjects/{sub}/consents/records/{record['id']}/receipt", headers=me(sub))
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["record_id"] == receipt["consent_receipt_id"] == record["id"]
    assert receipt["pii_principal_id"] == sub
    # O1: the participant's organisation (tenant t1 in the token) decides; the platform processes.
    assert [(c["role"], c["on_behalf"]) for c in receipt["pii_controllers"]] == [
        ("controller", False), ("processor", True)]
    assert receipt["pii_controllers"][0]["tenant_id"] == "t1"
    assert receipt["pii_controllers"][0]["pii_controller"] == "Client organisation t1"
    assert receipt["pii_controllers"][1]["pii_controller"] == "Privacy Suite platform"
    assert receipt["language"] == "en"
    assert receipt["purpose"]["name"] == "Session recording"
    assert receipt["purpose"]["id"] == "session-recording"
    assert receipt["purpose"]["third_party_names"] == ["Hotjar"]
    assert receipt["legal_basis"] == "consent"
    assert receipt["policy"]["version"] == record["policy_version"] and receipt["policy_url"]
    assert receipt["collection_method"] == "settings_page"
    assert receipt["consent_timestamp"] and receipt["jurisdiction"] == "NL"
    assert receipt["consent_state"] == "given"
    assert "granted\": false" in receipt["how_to_withdraw"]["api"]
    assert receipt["proof"]["hash"] == record["hash"]
    assert receipt["proof"]["seal"] == chain.seal(DEV_LEDGER_KEY, record["hash"])
    elsewhere = await consent.client.get(
        f"/v1/subjects/{new_subject()}/consents/records/{record['id']}/receipt",
        headers=auth("dpo", sub="dpo-1"))
    assert elsewhere.status_code == 404
    dutch = (await consent.client.get(
        f"/v1/subjects/{sub}/consents/records/{record['id']}/receipt",
        headers={**me(sub), "Accept-Language": "nl"})).json()
    assert dutch["language"] == "nl" and dutch["purpose"]["name"] == "Sessie-opnames"
    assert dutch["pii_controllers"][0]["pii_controller"] == "Klantorganisatie t1"
    assert dutch["proof"] == receipt["proof"]


async def test_o1_a_visitor_of_the_platform_has_the_platform_as_controller(consent) -> None:
    """Someone without a tenant (a website visitor, a direct customer): the platform decides."""
    sub = new_subject()
    visitor = auth("participant", sub=sub)
    record = (await put(consent, sub, "newsletter", {"granted": True}, visitor)).json()
    receipt = (await consent.client.get(
        f"/v1/subjects/{sub}/consents/records/{record['id']}/receipt", headers=visitor)).json()
    assert receipt["pii_controllers"] == [{
        "pii_controller": "Privacy Suite platform", "contact": "privacy@example.org",
        "role": "controller", "on_behalf": False}]


async def test_o19_export_gives_the_whole_ledger_and_receipts(consent) -> None:
    sub = new_subject()
    await put(consent, sub, "newsletter", {"granted": True})
    await put(consent, sub, "newsletter", {"granted": False})
    cookie_id = (await consent.client.post("/v1/cookie-choices",
                                           json={"analytics": True})).json()["cookie_id"]
    await consent.client.post(f"/v1/cookie-choices/{cookie_id}/link", headers=me(sub))
    await consent.client.put(f"/v1/subjects/{sub}/marketing-objection", json={}, headers=me(sub))
    assert (await consent.client.get(f"/internal/subjects/{sub}/export",
                                     headers=me(sub))).status_code == 403
    assert (await consent.client.get(f"/internal/subjects/{sub}/export",
                                     headers=auth("dpo", sub="dpo-1"))).status_code == 403
    response = await consent.client.get(f"/internal/subjects/{sub}/export",
                                        headers=service_auth())
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert len(data["ledger"]) == 5  # two newsletter records + three cookie purposes
    assert [r["record_id"] for r in data["receipts"]] == [r["id"] for r in data["ledger"]]
    assert data["cookie_choices"][0]["cookie_id"] == cookie_id
    assert len(data["marketing_objections"]) == 1
    assert data["effective_consents"]["newsletter"]["granted"] is False
    inventory = (await consent.client.get("/internal/inventory",
                                          headers=service_auth("retention"))).json()
    assert {c["name"] for c in inventory["categories"]} >= {"consent-ledger", "cookie-choices"}


async def test_o25_erasure_deletes_ledger_and_cookie_choices_and_answers(consent) -> None:
    sub, bystander = new_subject(), new_subject()
    await put(consent, sub, "newsletter", {"granted": True})
    await put(consent, bystander, "newsletter", {"granted": True})
    cookie_id = (await consent.client.post("/v1/cookie-choices",
                                           json={"analytics": True})).json()["cookie_id"]
    await consent.client.post(f"/v1/cookie-choices/{cookie_id}/link", headers=me(sub))
    await consent.client.put(f"/v1/cookie-choices/{cookie_id}", json={"marketing": True})
    job_id = str(uuid.uuid4())
    request = envelope(
        ErasureRequested(job_id=job_id, stores=["consent", "training-records"],
                         scope=ErasureScope(kind="subject", subject_id=sub),
                         deadline_at=datetime.now(UTC) + timedelta(hours=1)),
        source="retention", subject_id=sub)
    producer = AIOKafkaProducer(bootstrap_servers=consent.suite.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(consent.suite.topic(Topic.ERASURE),
                                     request.model_dump_json().encode(), key=sub.encode())
    finally:
        await producer.stop()

    done = await read_events(
        consent.suite.kafka_bootstrap, consent.suite.topic(Topic.ERASURE), expect=1,
        match=lambda e: e.type == "erasure.completed" and e.data.get("job_id") == job_id)
    assert done[0].data["store"] == "consent"
    assert done[0].data["counts"]["consent-ledger"] == 4  # newsletter + three cookie purposes
    assert done[0].data["counts"]["cookie-choices"] == 2
    for table in ("consent_record", "cookie_choice"):
        rows = await consent.fetch(f"SELECT 1 FROM {table} WHERE subject_id = $1", sub)
        assert rows == [], table
    assert await consent.fetch("SELECT 1 FROM cookie_choice WHERE cookie_id = $1", cookie_id) == []
    assert len(await consent.fetch("SELECT 1 FROM consent_record WHERE subject_id = $1",
                                   bystander)) == 1


async def test_o13_consent_changed_reaches_another_service_without_personal_data(consent) -> None:
    sub = new_subject()
    await put(consent, sub, "newsletter", {"granted": True})
    refusal = await put(consent, sub, "anonymised-data", {"granted": False})
    assert refusal.status_code == 200
    assert (await state(consent, sub))["consents"]["anonymised-data"]["granted"] is False

    async def seen() -> list:
        rows = await consent.seen(sub)
        return rows if len(rows) >= 3 else []

    rows = await wait_for(seen, what="the listener to see the consent events")
    got = sorted((r["type"], json.dumps(json.loads(r["data"])["data"], sort_keys=True))
                 for r in rows)
    assert got == [
        ("anonymisation.opted_out", "{}"),
        ("consent.changed", '{"granted": false, "purpose": "anonymised-data"}'),
        ("consent.changed", '{"granted": true, "purpose": "newsletter"}'),
    ]
    on_the_wire = await read_events(
        consent.suite.kafka_bootstrap, consent.suite.topic(Topic.CONSENT), expect=3,
        match=lambda e: e.subject_id == sub)
    for event in on_the_wire:
        assert set(event.data) <= {"purpose", "granted"}
        assert event.source == "consent" and event.tenant_id == "t1"
