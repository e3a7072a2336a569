"""The gateway refuses before forwarding: 401 without a valid token, 403 for what is not yours."""

from __future__ import annotations

import time

import httpx
import pytest

from devstack.testing import app_client, auth, token
from gateway.main import create_app
from gateway.settings import Settings
from privacy_kit.auth import mint_token
from privacy_kit.settings import DEV_SECRET


def _assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


async def test_no_token_is_401(gateway_settings: Settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.get("/v1/tenants/t1/participants/p1")
    _assert_error(response, 401, "missing_token")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_bad_signature_is_401(gateway_settings: Settings) -> None:
    forged = mint_token("not-the-suite-secret-but-just-as-long-as-it", role="operator")
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.get("/v1/breaches", headers={"Authorization": f"Bearer {forged}"})
        garbage = await client.get("/v1/breaches", headers={"Authorization": "Bearer abc.def"})
        not_bearer = await client.get("/v1/breaches", headers={"Authorization": "Basic eDp5"})
    _assert_error(response, 401, "invalid_token")
    _assert_error(garbage, 401, "invalid_token")
    _assert_error(not_bearer, 401, "invalid_token")


async def test_expired_token_is_401(gateway_settings: Settings) -> None:
    expired = mint_token(DEV_SECRET, role="dpo", now=time.time() - 7200, ttl_s=60)
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.get("/v1/breaches", headers={"Authorization": f"Bearer {expired}"})
    _assert_error(response, 401, "token_expired")


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("POST", "/v1/tenants", "beheerder"),
        ("POST", "/v1/tenants", "dpo"),
        ("POST", "/v1/erasure-jobs", "participant"),
        ("GET", "/v1/erasure-jobs/j1", "beheerder"),
        ("GET", "/v1/legal-holds", "beheerder"),
        ("POST", "/v1/retention-sweeps", "beheerder"),
        ("POST", "/v1/sub-processors", "dpo"),
        ("GET", "/v1/breaches", "participant"),
        ("PUT", "/v1/purposes/marketing", "beheerder"),
    ],
)
async def test_wrong_role_is_403(
    gateway_settings: Settings, method: str, path: str, role: str
) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.request(method, path, headers=auth(role, tenant="t1"), json={})
    _assert_error(response, 403, "forbidden")


async def test_other_tenant_is_403(gateway_settings: Settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.get(
            "/v1/tenants/tenant-b/participants/p1", headers=auth("beheerder", tenant="tenant-a")
        )
        own = await client.get(
            "/v1/tenants/tenant-a/participants/p1", headers=auth("beheerder", tenant="tenant-a")
        )
        staff = await client.get("/v1/tenants/tenant-b/participants/p1", headers=auth("dpo"))
    error = _assert_error(response, 403, "forbidden")
    assert "another organisation" in error["message"]
    assert own.status_code == 200 and own.json()["path"] == "/v1/tenants/tenant-a/participants/p1"
    assert staff.status_code == 200


async def test_participant_reaches_only_own_subject_paths(gateway_settings: Settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        other = await client.get("/v1/subjects/s2/consents",
                                 headers=auth("participant", tenant="t1", sub="s1"))
        own = await client.get("/v1/subjects/s1/consents",
                               headers=auth("participant", tenant="t1", sub="s1"))
        beheerder = await client.get("/v1/subjects/s2/consents",
                                     headers=auth("beheerder", tenant="t1", sub="b1"))
    _assert_error(other, 403, "forbidden")
    assert own.status_code == 200
    # A Beheerder may ask; the consent service checks that s2 belongs to their tenant.
    assert beheerder.status_code == 200


async def test_public_routes_need_no_token(gateway_settings: Settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        cookie = await client.put("/v1/cookie-choices/visitor-1", json={"analytics": False})
        purposes = await client.get("/v1/purposes")
        verify = await client.get("/v1/certificates/ABC-123/verification")
        policy_write = await client.post("/v1/policies", json={})
    assert cookie.status_code == 200 and cookie.json()["method"] == "PUT"
    assert purposes.status_code == 200
    assert verify.status_code == 200
    _assert_error(policy_write, 401)


@pytest.mark.parametrize(
    "path",
    [
        "/internal/export/s1",
        "/v1/internal/export/s1",
        "/v1/no-such-thing",
        "/v1/tenants/%2e%2e/%2e%2e/internal/export/s1",
        "/",
    ],
)
async def test_unknown_and_internal_paths_are_404(gateway_settings: Settings, path: str) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.get(path, headers=auth("operator"))
    _assert_error(response, 404, "not_found")


async def test_rate_limit_answers_429(gateway_settings: Settings) -> None:
    settings = gateway_settings.model_copy(update={"rate_limit_per_minute": 2})
    headers = {"Authorization": f"Bearer {token('dpo', sub='busy-dpo')}"}
    async with app_client(create_app(settings)) as client:
        first = [await client.get("/v1/erasure-jobs", headers=headers) for _ in range(2)]
        third = await client.get("/v1/erasure-jobs", headers=headers)
        someone_else = await client.get("/v1/erasure-jobs", headers=auth("dpo", sub="calm-dpo"))
    assert [r.status_code for r in first] == [200, 200]
    _assert_error(third, 429, "rate_limited")
    assert int(third.headers["retry-after"]) >= 1
    assert someone_else.status_code == 200
