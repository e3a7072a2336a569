"""O3: the reason staff state for reading personal data reaches the service that logs it."""

from __future__ import annotations

from devstack.testing import app_client, auth
from gateway.main import create_app
from gateway.settings import Settings

SITE = "https://app.opleidingen.example"


async def test_o3_the_gateway_forwards_the_staff_access_reason(gateway_settings: Settings) -> None:
    settings = gateway_settings.model_copy(update={"cors_allow_origins": [SITE]})
    headers = auth("dpo", reason="ticket 4711: complaint about mail")
    async with app_client(create_app(settings)) as client:
        response = await client.get("/v1/subjects/s1/consents", headers=headers)
        preflight = await client.options("/v1/subjects/s1/consents", headers={
            "Origin": SITE, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, x-access-reason"})
    assert response.status_code == 200, response.text
    assert response.json()["headers"]["x-access-reason"] == "ticket 4711: complaint about mail"
    assert preflight.status_code == 200, preflight.text
    allowed = {h.strip() for h in preflight.headers["access-control-allow-headers"].lower()
               .split(",")}
    assert "x-access-reason" in allowed
