"""O16 with the real minimum group (the shared app runs with 1 to keep other tests small): a
benchmark of fewer people is suppressed, and the stored aggregates (per training and per module)
never hold the values of fewer people than the minimum."""

from __future__ import annotations

import uuid

from training_records import erasure
from training_records.settings import Settings
from training_records.trainings.service import benchmark

MINIMUM = Settings().benchmark_min_participants


async def _learner(tr, tid: str, training_id: str, score: float) -> str:
    pid = await tr.participant(tid)
    await tr.assign(tid, pid, training_id)
    await tr.result(tid, pid, training_id, score, score >= 55)
    return pid


async def _benchmark(tr, training_id: str) -> dict:
    async with tr.app.state.pool.acquire() as conn:
        return (await benchmark(conn=conn, training_id=uuid.UUID(training_id),
                                minimum_group=MINIMUM)).model_dump(
                                    exclude={"training_id", "modules"})


async def _stored(tr, training_id: str) -> dict | None:
    async with tr.app.state.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT participants, scored, score_sum::float AS score_sum, passed "
            "FROM training_benchmark WHERE training_id = $1", uuid.UUID(training_id))
    return dict(row) if row else None


async def test_o16_groups_below_the_minimum_are_suppressed_and_never_stored_with_values(tr):
    assert MINIMUM == 5
    real = tr.app.state.settings.model_copy(update={"benchmark_min_participants": MINIMUM})
    tid = await tr.tenant(name="Small group")
    training = (await tr.training(modules=1, title="Small group"))["id"]
    people = [await _learner(tr, tid, training, s) for s in (50, 60, 70, 80)]
    assert await _benchmark(tr, training) == {
        "participants": 4, "mean_score": None, "pass_rate": None, "suppressed": True,
        "minimum_group": 5}

    # One person erased: their value is not kept anywhere, only that they were counted.
    async with tr.app.state.pool.acquire() as conn, conn.transaction():
        await erasure.erase_subject(conn, people[0], real)
    assert await _stored(tr, training) == {"participants": 1, "scored": 0, "score_sum": 0.0,
                                           "passed": 0}
    assert (await _benchmark(tr, training))["suppressed"] is True

    people += [await _learner(tr, tid, training, s) for s in (90, 100)]
    shown = await _benchmark(tr, training)
    # Six counted; the mean over the five whose values remain (60..100).
    assert shown == {"participants": 6, "mean_score": 80.0, "pass_rate": 1.0,
                     "suppressed": False, "minimum_group": 5}

    # The five left at once (a tenant's erasure): a group of five may be stored with values.
    async with tr.app.state.pool.acquire() as conn, conn.transaction():
        await erasure.erase_tenant(conn, tid, [], real)
    assert await _stored(tr, training) == {"participants": 6, "scored": 5, "score_sum": 400.0,
                                           "passed": 5}
    assert await _benchmark(tr, training) == shown

    # Once the stored group holds five, one more person's value may join it.
    other = await tr.tenant(name="Later")
    last = await _learner(tr, other, training, 40)
    async with tr.app.state.pool.acquire() as conn, conn.transaction():
        await erasure.erase_subject(conn, last, real)
    assert await _stored(tr, training) == {"participants": 7, "scored": 6, "score_sum": 440.0,
                                           "passed": 5}


async def test_o16_single_erasures_below_the_minimum_keep_only_a_count(tr):
    real = tr.app.state.settings.model_copy(update={"benchmark_min_participants": MINIMUM})
    tid = await tr.tenant(name="One by one")
    training = (await tr.training(modules=1, title="One by one"))["id"]
    for score in (10, 20, 30, 40, 50, 60):
        pid = await _learner(tr, tid, training, score)
        async with tr.app.state.pool.acquire() as conn, conn.transaction():
            await erasure.erase_subject(conn, pid, real)
        stored = await _stored(tr, training)
        assert stored is not None and stored["scored"] == 0 and stored["score_sum"] == 0.0
    assert (await _stored(tr, training))["participants"] == 6
    assert await _benchmark(tr, training) == {
        "participants": 6, "mean_score": None, "pass_rate": None, "suppressed": True,
        "minimum_group": 5}


async def _progress(tr, tid: str, pid: str, module: str, seconds: int) -> None:
    r = await tr.client.put(f"/v1/tenants/{tid}/participants/{pid}/progress/{module}",
                            headers=tr.participant_auth(tid, pid),
                            json={"completed": True, "time_spent_s": seconds})
    assert r.status_code in (200, 201), r.text


async def _module(tr, training_id: str) -> tuple[dict | None, dict]:
    async with tr.app.state.pool.acquire() as conn:
        shown = (await benchmark(conn=conn, training_id=uuid.UUID(training_id),
                                 minimum_group=MINIMUM)).modules[0].model_dump(
                                     exclude={"module_id"})
        row = await conn.fetchrow(
            """SELECT b.participants, b.scored, b.completed, b.time_spent_s
               FROM module_benchmark b JOIN training_module m ON m.id = b.module_id
               WHERE m.training_id = $1""", uuid.UUID(training_id))
    return (dict(row) if row else None), shown


async def test_o16_per_module_aggregates_below_the_minimum_keep_only_a_count(tr):
    real = tr.app.state.settings.model_copy(update={"benchmark_min_participants": MINIMUM})
    tid = await tr.tenant(name="Module group")
    training = await tr.training(modules=1, title="Module group")
    module = training["modules"][0]["id"]
    people = []
    for seconds in (60, 120, 180, 240):
        pid = await _learner(tr, tid, training["id"], 70)
        await _progress(tr, tid, pid, module, seconds)
        people.append(pid)
    assert (await _module(tr, training["id"]))[1] == {
        "participants": 4, "completed": None, "mean_time_spent_s": None}

    # One person erased: the module aggregate counts them, and keeps nothing of what they did.
    async with tr.app.state.pool.acquire() as conn, conn.transaction():
        await erasure.erase_subject(conn, people[0], real)
    stored, shown = await _module(tr, training["id"])
    assert stored == {"participants": 1, "scored": 0, "completed": 0, "time_spent_s": 0}
    assert shown == {"participants": 4, "completed": None, "mean_time_spent_s": None}

    for seconds in (300, 360):
        pid = await _learner(tr, tid, training["id"], 70)
        await _progress(tr, tid, pid, module, seconds)
    # Six started; what they did over the five whose values remain (120..360 s).
    shown = (await _module(tr, training["id"]))[1]
    assert shown == {"participants": 6, "completed": 5, "mean_time_spent_s": 240.0}

    # The five leave at once: a group of five may be stored with its values.
    async with tr.app.state.pool.acquire() as conn, conn.transaction():
        await erasure.erase_tenant(conn, tid, [], real)
    stored, after = await _module(tr, training["id"])
    assert stored == {"participants": 6, "scored": 5, "completed": 5, "time_spent_s": 1200}
    assert after == shown
