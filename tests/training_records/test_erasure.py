"""O25, O16, O13: erasure by the erasure.requested event, leaving only anonymous aggregates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from devstack.infra import free_port
from devstack.testing import read_events, wait_for
from privacy_kit.events import Envelope, Topic
from privacy_kit.protocol import (
    AnonymisationOptedOut,
    ConsentChanged,
    ErasureRequested,
    ErasureScope,
    envelope,
)
from training_records import erasure

KIT_TABLES = ("outbox", "processed_event", "dead_letter", "schema_migration")


async def _erase(tr, scope: dict, *, tenant_id: str | None = None) -> Envelope:
    job = str(uuid.uuid4())
    request = ErasureRequested(job_id=job, scope=ErasureScope(**scope),
                               stores=["training-records", "consent"],
                               deadline_at=datetime.now(UTC) + timedelta(hours=1))
    await tr.publish(Topic.ERASURE, envelope(request, source="retention", tenant_id=tenant_id,
                                             subject_id=scope.get("subject_id")))
    [done] = await read_events(tr.suite.kafka_bootstrap, tr.suite.topic(Topic.ERASURE),
                               match=lambda e: e.type == "erasure.completed"
                               and e.data.get("job_id") == job, timeout=30)
    assert done.data["store"] == "training-records"
    return done


async def _rows_mentioning(tr, needle: str, *, include_kit: bool) -> dict[str, int]:
    async with tr.app.state.pool.acquire() as conn:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        found = {}
        for table in tables:
            if table in KIT_TABLES and not include_kit:
                continue
            n = await conn.fetchval(
                f"SELECT count(*) FROM {table} x WHERE x::text ILIKE '%' || $1 || '%'", needle)
            if n:
                found[table] = n
        return found


async def _learner(tr, tid: str, training: dict, score: float, passed: bool, **fields) -> str:
    pid = await tr.participant(tid, **fields)
    await tr.assign(tid, pid, training["id"])
    me = tr.participant_auth(tid, pid)
    for module in training["modules"]:
        await tr.client.put(f"/v1/tenants/{tid}/participants/{pid}/progress/{module['id']}",
                            headers=me, json={"completed": True, "time_spent_s": 30})
    await tr.client.post(f"/v1/tenants/{tid}/participants/{pid}/logins", headers=me)
    await tr.result(tid, pid, training["id"], score, passed)
    return pid


async def _benchmark(tr, training: dict) -> dict:
    r = await tr.client.get(f"/v1/trainings/{training['id']}/benchmark", headers=tr.operator)
    return dict(r.json())


async def test_o25_o16_subject_erasure_leaves_benchmark_intact_and_no_row_naming_the_person(
    events_ready,
):
    tr = events_ready
    tid = await tr.tenant()
    training = await tr.training(modules=2, title="Erasure benchmark")
    name, email = "Wilhelmina Zwaanswijk", f"w.{uuid.uuid4().hex[:8]}@example.org"
    pid = await _learner(tr, tid, training, 80, True, name=name, email=email,
                         phone="+31 6 1111 2222")
    others = [await _learner(tr, tid, training, s, p) for s, p in ((60, False), (100, True))]
    boss = tr.beheerder(tid)
    await tr.client.patch(f"/v1/tenants/{tid}/participants/{pid}", headers=boss,
                          json={"company": "Zwaan B.V."})
    await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}", headers=boss)
    before = await _benchmark(tr, training)
    assert before["participants"] == 3 and before["mean_score"] == 80.0

    done = await _erase(tr, {"kind": "subject", "subject_id": pid})
    counts = done.data["counts"]
    assert counts["person"] == 1 and counts["result"] == 1 and counts["certificate"] == 1
    assert counts["module_progress"] == 2 and counts["login"] == 1 and counts["assignment"] == 1
    assert counts["person_rectification"] == 1 and counts["access_log"] >= 1
    assert done.data["erased"] == sum(counts.values())

    assert await _benchmark(tr, training) == before
    for needle in (name, email, "Zwaan B.V.", "1111 2222"):
        assert await _rows_mentioning(tr, needle, include_kit=True) == {}, needle
    assert await _rows_mentioning(tr, pid, include_kit=False) == {}
    r = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}", headers=tr.dpo)
    assert r.status_code == 404
    # The others are untouched.
    for other in others:
        r = await tr.client.get(f"/v1/tenants/{tid}/participants/{other}/results", headers=boss)
        assert len(r.json()["items"]) == 1

    # A second delivery of the same request changes nothing and still answers.
    again = await _erase(tr, {"kind": "subject", "subject_id": pid})
    assert again.data["erased"] == 0
    assert await _benchmark(tr, training) == before


async def test_o13_opted_out_people_leave_not_even_anonymous_aggregates(events_ready):
    tr = events_ready
    tid = await tr.tenant()
    training = await tr.training(modules=1, title="Opt-out benchmark")
    kept = await _learner(tr, tid, training, 50, False)
    by_consent = await _learner(tr, tid, training, 100, True)
    by_event = await _learner(tr, tid, training, 90, True)
    assert (await _benchmark(tr, training))["participants"] == 3

    await tr.publish(Topic.CONSENT, envelope(
        ConsentChanged(purpose="anonymised-data", granted=False), source="consent",
        tenant_id=tid, subject_id=by_consent))
    await tr.publish(Topic.CONSENT, envelope(
        AnonymisationOptedOut(), source="consent", tenant_id=tid, subject_id=by_event))
    # Another purpose withdrawn means nothing here.
    await tr.publish(Topic.CONSENT, envelope(
        ConsentChanged(purpose="newsletter", granted=False), source="consent",
        tenant_id=tid, subject_id=kept))

    async def two_left() -> bool:
        return (await _benchmark(tr, training))["participants"] == 1
    await wait_for(two_left, what="both opt-outs to be applied")
    assert (await _benchmark(tr, training))["mean_score"] == 50.0

    for pid in (by_consent, by_event, kept):
        await _erase(tr, {"kind": "subject", "subject_id": pid})
    after = await _benchmark(tr, training)
    assert after["participants"] == 1 and after["mean_score"] == 50.0
    assert await tr.fetchval(
        "SELECT participants FROM training_benchmark WHERE training_id = $1",
        uuid.UUID(training["id"])) == 1
    assert await tr.fetchval("SELECT count(*) FROM anonymisation_opt_out WHERE subject_id = ANY($1)",
                             [uuid.UUID(by_consent), uuid.UUID(by_event)]) == 0


async def test_o25_tenant_erasure_removes_everything_of_that_tenant_only(events_ready):
    tr = events_ready
    tid = await tr.tenant(name="Leaving Org")
    stays = await tr.tenant(name="Staying Org")
    training = await tr.training(modules=2, title="Tenant erasure")
    erased = [await _learner(tr, tid, training, s, True) for s in (70, 80, 90)]
    held = await _learner(tr, tid, training, 60, False)
    kept = await _learner(tr, stays, training, 40, False)
    before = await _benchmark(tr, training)

    done = await _erase(tr, {"kind": "tenant", "tenant_id": tid, "held_subject_ids": [held]},
                        tenant_id=tid)
    counts = done.data["counts"]
    assert counts["person"] == 3 and counts["result"] == 3 and counts["module_progress"] == 6
    assert counts["tenant"] == 0  # a person under legal hold keeps the tenant row for now
    assert await _benchmark(tr, training) == before
    for pid in erased:
        assert await _rows_mentioning(tr, pid, include_kit=False) == {}
    r = await tr.client.get(f"/v1/tenants/{tid}/participants/{held}/results", headers=tr.dpo)
    assert len(r.json()["items"]) == 1

    done = await _erase(tr, {"kind": "tenant", "tenant_id": tid}, tenant_id=tid)
    assert done.data["counts"]["person"] == 1 and done.data["counts"]["tenant"] == 1
    assert await _rows_mentioning(tr, tid, include_kit=False) == {}
    r = await tr.client.get(f"/v1/tenants/{stays}/participants/{kept}/results", headers=tr.dpo)
    assert len(r.json()["items"]) == 1
    assert await _benchmark(tr, training) == before


async def test_o15_category_erasure_removes_old_login_times(events_ready):
    tr = events_ready
    tid = await tr.tenant()
    pid = await tr.participant(tid)
    me = tr.participant_auth(tid, pid)
    for _ in range(2):
        await tr.client.post(f"/v1/tenants/{tid}/participants/{pid}/logins", headers=me)
    done = await _erase(tr, {"kind": "category", "category": "login_times",
                             "older_than": "2000-01-01T00:00:00Z"})
    assert done.data["counts"] == {"login_times": 0}
    done = await _erase(tr, {"kind": "category", "category": "login_times",
                             "older_than": "2999-01-01T00:00:00Z", "held_subject_ids": []})
    assert done.data["counts"]["login_times"] >= 2
    r = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}/logins", headers=me)
    assert r.json()["items"] == []
    done = await _erase(tr, {"kind": "category", "category": "training_history",
                             "older_than": "2999-01-01T00:00:00Z"})
    assert done.data["counts"] == {"training_history": 0}  # kept while the account exists


async def _opt_out_at_consent(tr, tid: str, pid: str) -> None:
    """The person says so at consent. Consent's relay is off here: its event never arrives, as
    when the erasure on privacy.erasure is handled before the opt-out on privacy.consent."""
    async with httpx.AsyncClient(base_url=tr.consent_url) as consent:
        r = await consent.put(f"/v1/subjects/{pid}/consents/anonymised-data",
                              json={"granted": False}, headers=tr.participant_auth(tid, pid))
        assert r.status_code == 200, r.text
    assert await tr.fetchval("SELECT count(*) FROM anonymisation_opt_out WHERE subject_id = $1",
                             uuid.UUID(pid)) == 0


async def test_o13_erasure_handled_before_the_opt_out_event_leaves_the_person_out(events_ready):
    tr = events_ready
    tid = await tr.tenant()
    training = await tr.training(modules=1, title="Opt-out race")
    await _learner(tr, tid, training, 40, False)
    quitter = await _learner(tr, tid, training, 100, True)
    await _opt_out_at_consent(tr, tid, quitter)

    await _erase(tr, {"kind": "subject", "subject_id": quitter})
    after = await _benchmark(tr, training)
    assert after["participants"] == 1 and after["mean_score"] == 40.0
    assert await tr.fetchval("SELECT participants FROM training_benchmark WHERE training_id = $1",
                             uuid.UUID(training["id"])) is None


async def test_o13_consent_erasing_the_person_first_still_says_they_opted_out(events_ready):
    tr = events_ready
    tid = await tr.tenant(name="Both orders")
    training = await tr.training(modules=1, title="Consent erased first")
    stays = await _learner(tr, tid, training, 40, False)
    await _learner(tr, tid, training, 60, True)
    quitters = [await _learner(tr, tid, training, 100, True) for _ in range(3)]
    for quitter in quitters:
        await _opt_out_at_consent(tr, tid, quitter)
    # Consent handles the same erasure first: the ledger is gone, a keyed trace of the opt-out
    # stays for a while.
    async with tr.consent.state.pool.acquire() as conn, conn.transaction():
        for quitter in quitters:
            await tr.consent.state.provider.erase(
                conn, ErasureScope(kind="subject", subject_id=quitter))
        assert await conn.fetchval("SELECT count(*) FROM consent_record WHERE subject_id = ANY($1)",
                                   quitters) == 0
        assert await conn.fetchval("SELECT count(*) FROM erased_opt_out") >= 3
        assert await conn.fetchval(
            "SELECT count(*) FROM erased_opt_out WHERE subject_hash = ANY($1)", quitters) == 0

    await _erase(tr, {"kind": "subject", "subject_id": quitters[0]})
    # The tenant-wide path asks for everyone at once: of three people, one is folded.
    await _erase(tr, {"kind": "tenant", "tenant_id": tid, "held_subject_ids": [stays]},
                 tenant_id=tid)
    after = await _benchmark(tr, training)
    assert after["participants"] == 2 and after["mean_score"] == 50.0


async def test_o13_when_consent_cannot_answer_nobody_is_folded(tr):
    tid = await tr.tenant()
    training = await tr.training(modules=1, title="Consent down")
    pid = await _learner(tr, tid, training, 70, True)
    unreachable = tr.app.state.settings.model_copy(
        update={"consent_url": f"http://127.0.0.1:{free_port()}", "consent_timeout_s": 1.0})
    async with tr.app.state.pool.acquire() as conn, conn.transaction():
        counts = await erasure.erase_subject(conn, pid, unreachable)
    assert counts["person"] == 1 and counts["result"] == 1
    assert await tr.fetchval("SELECT participants FROM training_benchmark WHERE training_id = $1",
                             uuid.UUID(training["id"])) is None
    assert (await _benchmark(tr, training))["participants"] == 0


async def test_o25_an_account_a_sweep_ends_is_asked_erased_everywhere_after_the_sweeps_answer(
    events_ready,
):
    """The sweep's answer goes first; the request to erase the person in every other store
    follows from the queue written in the same transaction, so thousands of ended accounts
    never hold up the sweep (bench/sweep_bench.py)."""
    tr = events_ready
    tid = await tr.tenant()
    pid = await tr.participant(tid)
    r = await tr.client.post(f"/v1/tenants/{tid}/participants/{pid}/closure",
                             headers=tr.beheerder(tid))
    assert r.status_code == 200, r.text
    done = await _erase(tr, {"kind": "category", "category": "participant_profile",
                             "older_than": "2999-01-01T00:00:00Z"})
    assert done.data["counts"]["participant_profile"] == 1
    [asked] = await read_events(tr.suite.kafka_bootstrap, tr.suite.topic(Topic.SUBJECT),
                                match=lambda e: e.type == "subject.erasure_requested"
                                and e.subject_id == pid, timeout=30)
    assert asked.data["reason"] == "account_closed_term_ended"
    assert asked.tenant_id == tid
    order = await tr.fetchval(
        """SELECT array_agg(envelope->>'type' ORDER BY seq) FROM outbox
           WHERE envelope->'data'->>'job_id' = $1 OR subject_id = $2""",
        done.data["job_id"], pid)
    assert order == ["erasure.completed", "subject.erasure_requested"]
    assert await tr.fetchval("SELECT count(*) FROM ended_account WHERE subject_id = $1",
                             uuid.UUID(pid)) == 0
