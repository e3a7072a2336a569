"""O13: stores about to anonymise ask consent's current opt-out, even after consent erased the
person."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from devstack.testing import auth, service_auth
from privacy_kit.protocol import ErasureScope


async def test_o13_stores_ask_the_current_opt_out_with_a_service_token(consent) -> None:
    out, stays, unknown = (f"sub-{uuid.uuid4().hex[:10]}" for _ in range(3))
    for sub, granted in ((out, False), (stays, True)):
        r = await consent.client.put(f"/v1/subjects/{sub}/consents/anonymised-data",
                                     json={"granted": granted}, headers=auth("participant", sub=sub))
        assert r.status_code == 200, r.text
    store = service_auth("training-records")
    path = "/internal/subjects/{}/anonymisation-opt-out"
    assert (await consent.client.get(path.format(out), headers=auth("dpo"))).status_code == 403
    answers = {sub: (await consent.client.get(path.format(sub), headers=store)).json()["opted_out"]
               for sub in (out, stays, unknown)}
    assert answers == {out: True, stays: False, unknown: False}  # the purpose is on by default
    batch = await consent.client.post("/internal/anonymisation-opt-outs", headers=store,
                                      json={"subject_ids": [out, stays, unknown]})
    assert batch.json() == {"opted_out": [out]}

    # Erased here first: the answer stays "opted out" for a while, from a keyed hash only.
    async with consent.app.state.pool.acquire() as conn, conn.transaction():
        for sub in (out, stays):
            await consent.app.state.provider.erase(conn, ErasureScope(kind="subject",
                                                                       subject_id=sub))
    answers = {sub: (await consent.client.get(path.format(sub), headers=store)).json()["opted_out"]
               for sub in (out, stays)}
    assert answers == {out: True, stays: False}
    rows = await consent.fetch("SELECT subject_hash, erased_at FROM erased_opt_out")
    assert all(out not in r["subject_hash"] for r in rows)
    # ... and is forgotten after OPT_OUT_MEMORY_DAYS.
    days = consent.app.state.settings.opt_out_memory_days
    await consent.fetch("UPDATE erased_opt_out SET erased_at = $1",
                        datetime.now(UTC) - timedelta(days=days + 1))
    async with consent.app.state.pool.acquire() as conn, conn.transaction():
        await consent.app.state.provider.erase(conn, ErasureScope(kind="subject",
                                                                   subject_id=unknown))
    assert await consent.fetch("SELECT 1 FROM erased_opt_out") == []
    assert (await consent.client.get(path.format(out), headers=store)).json()["opted_out"] is False
