"""O16 with the real minimum group (the shared app runs with 1 to keep other tests small): a
benchmark of fewer people is suppressed, and the stored aggregate never holds the values of
fewer people than the minimum."""

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
                                minimum_group=MINIMUM)).model_dump(exclude={"training_id"})


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
