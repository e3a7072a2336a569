"""Idempotency-Key in the kit: a retry waits for a first request still running, and answers
that say "try again" (5xx) are not kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request

from devstack.testing import Suite, app_client, auth
from privacy_kit.app import create_app
from privacy_kit.errors import ApiError
from privacy_kit.settings import ServiceSettings


def _app(settings: ServiceSettings, migrations: Path) -> FastAPI:
    router = APIRouter()
    calls = {"slow": 0, "flaky": 0}

    @router.post("/v1/slow", status_code=201)
    async def slow(request: Request) -> dict[str, int]:
        calls["slow"] += 1
        await asyncio.sleep(0.5)
        return {"call": calls["slow"]}

    @router.post("/v1/flaky", status_code=201)
    async def flaky() -> dict[str, int]:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise ApiError(503, "busy", "Try again.")
        return {"call": calls["flaky"]}

    return create_app(settings, title="idempotency", routers=[router], migrations=migrations)


async def test_a_retry_during_the_first_request_waits_and_errors_are_not_kept(
    suite: Suite, tmp_path: Path,
) -> None:
    settings = ServiceSettings(**{**suite.env(await suite.new_database("idem"), "idem"),
                                  "kafka_enabled": False})
    headers = {**auth("operator", sub="op-1"), "Idempotency-Key": "k-1"}
    async with app_client(_app(settings, tmp_path)) as client:
        first, during = await asyncio.gather(
            client.post("/v1/slow", headers=headers, json={}),
            _later(client.post("/v1/slow", headers=headers, json={})),
        )
        after = await client.post("/v1/slow", headers=headers, json={})
        assert first.status_code == 201 and first.json() == {"call": 1}
        assert during.status_code == 409
        assert during.json()["error"]["code"] == "idempotency_request_in_progress"
        assert during.headers["retry-after"] == "1"
        assert after.status_code == 201 and after.json() == {"call": 1}
        assert after.headers["idempotent-replayed"] == "true"

        flaky = {**headers, "Idempotency-Key": "k-2"}
        busy = await client.post("/v1/flaky", headers=flaky, json={})
        retried = await client.post("/v1/flaky", headers=flaky, json={})
        assert busy.status_code == 503
        assert retried.status_code == 201 and retried.json() == {"call": 2}


async def _later(request):
    await asyncio.sleep(0.15)
    return await request
