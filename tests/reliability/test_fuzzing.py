"""Fuzzing every service (in-process) with schemathesis: no 5xx on any input, only documented
statuses, bodies as documented. Fixed seed, bounded examples; see fuzzing.py."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from devstack.stack import STORES
from devstack.testing import app_client, auth
from gateway.main import create_app as create_gateway
from gateway.settings import Settings
from privacy_kit.settings import DEV_SECRET

from .fuzzing import fuzz

Services = dict[str, tuple[FastAPI, httpx.AsyncClient]]


@pytest.mark.parametrize("name", STORES)
async def test_fuzzing_a_service_finds_no_server_error_and_no_undocumented_answer(
    services: Services, name: str
) -> None:
    app, client = services[name]

    async def send(request: httpx.Request) -> httpx.Response:
        request.url = client.base_url.join(request.url.raw_path.decode())
        return await client.send(request)

    report = await fuzz(app.openapi(), send, headers=auth("operator"), examples=5)
    print(f"{name}: {report.summary()}")
    assert not report.failures, "\n\n".join(report.failures[:10]) + f"\n\n{report.summary()}"


@pytest.mark.parametrize("role", ["operator", "beheerder"])
async def test_fuzzing_the_gateway_finds_no_server_error_and_no_undocumented_answer(
    services: Services, role: str
) -> None:
    """Through the gateway's route table, access rules and merged OpenAPI document, with the
    services reached in-process (the fault tests cover the network between them)."""
    gateway = create_gateway(Settings(environment="test", jwt_secret=DEV_SECRET))
    async with app_client(gateway) as client:
        upstreams = gateway.state.upstreams
        for name, (app, _) in services.items():
            await upstreams.mount(name, app)

        async def send(request: httpx.Request) -> httpx.Response:
            request.url = client.base_url.join(request.url.raw_path.decode())
            return await client.send(request)

        document = (await client.get("/openapi.json")).json()
        assert len(document["paths"]) > 40, sorted(document["paths"])
        headers = auth(role, tenant="t-fuzz" if role == "beheerder" else None)
        report = await fuzz(document, send, headers=headers, examples=2)
    print(f"gateway as {role}: {report.summary()}")
    assert not report.failures, "\n\n".join(report.failures[:10]) + f"\n\n{report.summary()}"
