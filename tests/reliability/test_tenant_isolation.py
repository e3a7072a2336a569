"""Tenant isolation, generated from the gateway's own description of its routes: every
operation whose path names a tenant, participant or subject is tried with the ids of tenant A
and participant P, by tenant B's Beheerder and by participant Q of tenant B. Each gets 403 or
404, and no table of any service changes. A new route is covered the day it is added."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from devstack.testing import app_client, auth
from gateway.main import create_app as create_gateway
from gateway.routes import find_route
from gateway.settings import Settings
from privacy_kit.settings import DEV_SECRET

Services = dict[str, tuple[FastAPI, httpx.AsyncClient]]
OWNED = ("{tenant_id}", "{participant_id}", "{subject_id}")


async def _row_counts(services: Services) -> dict[str, int]:
    counts = {}
    for name, (app, _) in services.items():
        async with app.state.pool.acquire() as conn:
            tables = await conn.fetch(
                "SELECT quote_ident(table_name) AS t FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
            for row in tables:
                counts[f"{name}.{row['t']}"] = await conn.fetchval(f"SELECT count(*) FROM {row['t']}")
    return counts


async def _person(tr: httpx.AsyncClient, tenant: str) -> str:
    r = await tr.post(f"/v1/tenants/{tenant}/participants", headers=auth("beheerder", tenant=tenant),
                      json={"name": "Anna", "email": f"{uuid.uuid4().hex[:8]}@example.org",
                            "birth_date": "1990-01-01"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.mark.parametrize("who", ["beheerder of another tenant", "participant of another tenant"])
async def test_o2_no_route_with_a_tenant_or_person_in_its_path_lets_another_tenant_in(
    services: Services, who: str
) -> None:
    tr = services["training-records"][1]
    operator = auth("operator")
    tenants = []
    for name in ("Tenant A", "Tenant B"):
        r = await tr.post("/v1/tenants", headers=operator, json={"name": name})
        tenants.append(str(r.json()["id"]))
    tenant_a, tenant_b = tenants
    person_p, person_q = await _person(tr, tenant_a), await _person(tr, tenant_b)
    consent = services["consent"][1]
    r = await consent.put(f"/v1/subjects/{person_p}/consents/newsletter", json={"granted": True},
                          headers=auth("participant", tenant=tenant_a, sub=person_p))
    assert r.status_code == 200, r.text
    intruder = (auth("beheerder", tenant=tenant_b) if who.startswith("beheerder")
                else auth("participant", tenant=tenant_b, sub=person_q))

    gateway = create_gateway(Settings(environment="test", jwt_secret=DEV_SECRET,
                                      public_rate_limit_per_minute=0))
    tried, answers = 0, {}
    before = await _row_counts(services)
    async with app_client(gateway) as client:
        upstreams = gateway.state.upstreams
        for name, (app, _) in services.items():
            await upstreams.mount(name, app)
        document = (await client.get("/openapi.json")).json()
        for template, operations in document["paths"].items():
            if not any(owned in template for owned in OWNED):
                continue
            path = (template.replace("{tenant_id}", tenant_a).replace("{purpose}", "newsletter")
                    .replace("{participant_id}", person_p).replace("{subject_id}", person_p))
            while "{" in path:
                start, end = path.index("{"), path.index("}")
                path = path[:start] + str(uuid.uuid4()) + path[end + 1:]
            for method in operations:
                if method not in ("get", "put", "post", "patch", "delete"):
                    continue
                route = find_route(method.upper(), path)
                if route is None or route.public:
                    continue
                answer = await client.request(method.upper(), path, headers=intruder,
                                              json={"granted": True})
                tried += 1
                answers[f"{method.upper()} {template}"] = answer.status_code
    after = await _row_counts(services)
    # 422: the body sent does not fit that route and the service validates it before it checks
    # who is asking (consent's marketing objection): refused before anything is read or changed.
    leaks = {op: status for op, status in answers.items() if status not in (403, 404, 422)}
    assert answers["PUT /v1/subjects/{subject_id}/consents/{purpose}"] in (403, 404)
    assert tried >= 20, answers
    assert not leaks, f"{who} got through: {leaks}"
    changed = {t: (before.get(t), n) for t, n in after.items() if before.get(t) != n}
    assert not changed, changed
    print(f"{who}: {tried} operations tried, answers {sorted(set(answers.values()))}, no table changed")
