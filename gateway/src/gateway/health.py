"""The gateway's health: its own state plus every upstream's, asked all at once.

`GET /healthz` is public: each upstream is only "up", "degraded" (serving, but its own health
names something for an operator: dead letters, a consumer that cannot fetch or lags) or "down",
nothing about where it lives or what it holds. Operators get the details (URLs, status codes, each service's own health body:
backlogs, dead letters, consumer state) at `GET /v1/health/details`.

The gateway answers 200 whenever it can itself serve, also when an upstream is down: then
"status" is "degraded" and that upstream's entry says "down" (or "degraded"). Requests for a healthy
upstream still go through, so taking the whole gateway out of a load balancer because one
service is down would turn a partial outage into a full one. Each service has its own
/healthz for orchestration (devstack, Kubernetes, compose) to wait on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from opentelemetry.instrumentation.utils import suppress_instrumentation

from gateway.proxy import Upstreams


async def upstream_health(upstreams: Upstreams, name: str, timeout: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"url": upstreams.urls[name]}
    try:
        answer = await upstreams.client(name).get("/healthz", timeout=timeout)
    except httpx.TimeoutException:
        return {**entry, "state": "unavailable", "error": f"no answer within {timeout:g} s"}
    except httpx.HTTPError as exc:
        return {**entry, "state": "unavailable", "error": f"unreachable: {type(exc).__name__}"}
    try:
        body: Any = answer.json()
    except ValueError:
        body = answer.text[:500]
    state = "ok" if answer.status_code == 200 else "unavailable"
    if state == "ok" and isinstance(body, dict) and (reasons := degraded_reasons(body)):
        return {**entry, "state": "degraded", "reasons": reasons,
                "status_code": answer.status_code, "health": body}
    return {**entry, "state": state, "status_code": answer.status_code, "health": body}


def degraded_reasons(body: dict[str, Any]) -> list[str]:
    """What in a serving upstream's own health needs an operator: parked events, a consumer
    that cannot fetch or lags, a relay that cannot publish."""
    if body.get("status") == "degraded":
        return [str(r) for r in body.get("reasons") or ["the service reports degraded"]]
    if int(body.get("dead_letters") or 0) > 0:
        return [f"{body['dead_letters']} dead-lettered events wait for an operator"]
    return []


async def gateway_health_details(upstreams: Upstreams, timeout: float) -> dict[str, Any]:
    # Health polls every few seconds would bury real traces; keep them out.
    with suppress_instrumentation():
        names = list(upstreams.urls)
        results = await asyncio.gather(*(upstream_health(upstreams, n, timeout) for n in names))
    states = dict(zip(names, results, strict=True))
    degraded = any(entry["state"] != "ok" for entry in results)
    return {
        "service": "gateway",
        "status": "degraded" if degraded else "ok",
        "upstreams": states,
    }


def public_health(details: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see: the overall status and each upstream up, degraded (serving, but
    something needs an operator) or down."""
    shown = {"ok": "up", "degraded": "degraded"}
    return {
        "service": details["service"],
        "status": details["status"],
        "upstreams": {name: shown.get(entry["state"], "down")
                      for name, entry in details["upstreams"].items()},
    }
