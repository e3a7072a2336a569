"""What reaches a service through the gateway, and what a caller sees when a service fails."""

from __future__ import annotations

import uuid

import httpx

from devstack.testing import app_client, auth
from gateway.main import create_app
from gateway.settings import Settings

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


async def test_forwards_method_path_query_body_and_identity_headers(
    gateway_settings: Settings,
) -> None:
    headers = {
        **auth("participant", tenant="t1", sub="s1"),
        "X-Request-ID": "req-42",
        "Sec-GPC": "1",
        "Accept": "application/json",
        "Cookie": "session=secret",
        "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01",
    }
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.put(
            "/v1/subjects/s1/consents/marketing?source=app&note=two%20words",
            json={"granted": True},
            headers=headers,
        )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["method"] == "PUT"
    assert seen["path"] == "/v1/subjects/s1/consents/marketing"
    assert seen["query"] == "source=app&note=two%20words"
    assert seen["body"] == '{"granted":true}'
    forwarded = seen["headers"]
    assert forwarded["authorization"] == headers["Authorization"]
    assert forwarded["content-type"] == "application/json"
    assert forwarded["accept"] == "application/json"
    assert forwarded["sec-gpc"] == "1"
    assert forwarded["x-request-id"] == "req-42"
    assert "cookie" not in forwarded
    # The service's span is a child of the gateway's span, in the caller's trace.
    version, trace_id, parent_span, _flags = forwarded["traceparent"].split("-")
    assert (version, trace_id) == ("00", TRACE_ID)
    assert parent_span != CALLER_SPAN
    # The service's answer comes back with its own headers, the gateway's request id on top.
    assert response.headers["x-request-id"] == "req-42"
    assert response.headers["x-upstream"] == "echo"
    assert response.headers.get_list("set-cookie") == ["a=1"]


async def test_generates_a_request_id_when_the_caller_sends_none(
    gateway_settings: Settings,
) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.get("/v1/subject-requests", headers=auth("participant", sub="s1"))
    generated = response.headers["x-request-id"]
    uuid.UUID(generated)
    assert response.json()["headers"]["x-request-id"] == generated
    assert "traceparent" in response.json()["headers"]


async def test_passes_service_errors_through_unchanged(gateway_settings: Settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.get("/v1/trainings?status=422", headers=auth("beheerder"))
    assert response.status_code == 422


async def test_upstream_down_is_502(gateway_settings: Settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.get("/v1/breaches", headers=auth("dpo"))
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_unavailable"
    assert "breach" in error["message"]


async def test_upstream_slower_than_the_timeout_is_504(gateway_settings: Settings) -> None:
    settings = gateway_settings.model_copy(update={"upstream_timeout_s": 0.3})
    async with app_client(create_app(settings)) as client:
        response = await client.get("/v1/erasure-jobs/j1?sleep=2", headers=auth("dpo"))
    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == "upstream_timeout"
    assert "retention" in error["message"]


async def test_healthz_lists_every_upstream_up_or_down_and_stays_200_when_one_is_down(
    gateway_settings: Settings,
) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.get("/healthz")
        details = await client.get("/v1/health/details", headers=auth("operator"))
        refused = await client.get("/v1/health/details", headers=auth("dpo"))
        anonymous = await client.get("/v1/health/details")
    assert response.status_code == 200
    body = response.json()
    # Public: up or down only, no internal URLs, no counts.
    assert body == {"service": "gateway", "status": "degraded", "upstreams": {
        "training-records": "up", "consent": "up", "retention": "up", "breach": "down",
        "subject-rights": "up"}}
    assert "127.0.0.1" not in response.text
    # Operators: the details.
    assert details.status_code == 200
    upstreams = details.json()["upstreams"]
    assert upstreams["consent"]["state"] == "ok"
    assert upstreams["consent"]["url"] == gateway_settings.consent_url
    assert upstreams["consent"]["health"] == {"service": "echo", "status": "ok"}
    assert upstreams["breach"]["state"] == "unavailable"
    assert "error" in upstreams["breach"]
    assert (refused.status_code, anonymous.status_code) == (403, 401)


async def test_healthz_is_ok_when_every_upstream_is(echo_url: str,
                                                    gateway_settings: Settings) -> None:
    settings = gateway_settings.model_copy(update={"breach_url": echo_url})
    async with app_client(create_app(settings)) as client:
        body = (await client.get("/healthz")).json()
    assert body["status"] == "ok"
    assert set(body["upstreams"].values()) == {"up"}


async def test_runs_behind_a_real_socket(gateway_settings: Settings, serve) -> None:
    """The same through uvicorn, so streaming and header handling meet a real HTTP server."""
    server = serve(create_app(gateway_settings))
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/v1/subject-requests", json={"kind": "access"},
                                     headers=auth("participant", sub="s1"))
        health = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["body"] == '{"kind":"access"}'
    assert health.status_code == 200


async def test_small_answers_come_back_whole_and_large_ones_streamed_intact(
    gateway_settings: Settings,
) -> None:
    from gateway.proxy import BUFFERED_BYTES

    async with app_client(create_app(gateway_settings)) as client:
        for pad in (10, BUFFERED_BYTES + 1000):  # one piece, then streamed through
            response = await client.get(f"/v1/subjects/s1/consents?pad={pad}",
                                        headers=auth("participant", tenant="t1", sub="s1"))
            assert response.status_code == 200, response.text
            assert len(response.json()["pad"]) == pad
            assert int(response.headers["content-length"]) == len(response.content)
            assert response.headers.get_list("set-cookie") == ["a=1"]


async def test_o26_a_breach_may_carry_a_bigger_body_than_any_other_route(
    echo_url: str, gateway_settings: Settings,
) -> None:
    """150,000 affected ids (about 6 MiB) pass on POST /v1/breaches; the same body anywhere
    else is refused with 413 before it is forwarded."""
    settings = gateway_settings.model_copy(update={"breach_url": echo_url})
    body = {"title": "t", "affected_subject_ids": [str(uuid.uuid4()) for _ in range(150_000)]}
    async with app_client(create_app(settings)) as client:
        breach = await client.post("/v1/breaches", json=body, headers=auth("dpo"))
        other = await client.post("/v1/subject-requests", json=body,
                                  headers=auth("participant", sub="s1"))
    assert breach.status_code == 200, breach.text[:300]
    assert breach.json()["path"] == "/v1/breaches"
    assert other.status_code == 413, other.text[:300]
