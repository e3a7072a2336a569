"""What a browser needs from the gateway: CORS for the platform's own pages, and API docs
that load every asset from the gateway itself (they must work without internet)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from devstack.testing import app_client
from gateway.main import create_app
from gateway.settings import Settings

SITE = "https://www.opleidingen.example"


async def test_cors_preflight_and_cross_origin_call_from_an_allowed_origin(
    gateway_settings: Settings,
) -> None:
    settings = gateway_settings.model_copy(update={"cors_allow_origins": [SITE]})
    async with app_client(create_app(settings)) as client:
        preflight = await client.options("/v1/cookie-choices", headers={
            "Origin": SITE, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, idempotency-key, accept-language",
        })
        call = await client.post("/v1/cookie-choices", json={"analytics": True},
                                 headers={"Origin": SITE})
        stranger = await client.post("/v1/cookie-choices", json={},
                                     headers={"Origin": "https://evil.example"})
        refused_preflight = await client.options("/v1/cookie-choices", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == SITE
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    assert {"content-type", "idempotency-key", "accept-language"} <= {
        h.strip() for h in allowed_headers.split(",")}
    assert call.status_code == 200, call.text  # the echo upstream answers 200
    assert call.headers["access-control-allow-origin"] == SITE
    assert "etag" in call.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in stranger.headers
    assert refused_preflight.status_code == 400


async def test_no_cors_unless_configured(gateway_settings: Settings) -> None:
    assert Settings(environment="test").cors_allow_origins == []
    async with app_client(create_app(gateway_settings)) as client:
        call = await client.get("/v1/purposes", headers={"Origin": SITE})
    assert "access-control-allow-origin" not in call.headers


def test_cors_origins_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", f"{SITE}/, https://app.example")
    assert Settings().cors_allow_origins == [SITE, "https://app.example"]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


async def test_docs_pages_load_every_asset_from_the_gateway(gateway_settings: Settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        for page in ("/docs", "/redoc"):
            html = await client.get(page)
            assert html.status_code == 200
            parser = _Assets()
            parser.feed(html.text)
            # Script bodies may name URLs too (spec_url, validator): none may leave the gateway.
            quoted = re.findall(r"""["'](https?://[^"']+|//[^"']+)["']""", html.text)
            assert quoted == [], f"{page} names outside addresses: {quoted}"
            assert parser.urls, page
            for url in parser.urls:
                parts = urlsplit(url)
                assert not parts.scheme and not parts.netloc, f"{page} loads {url}"
                asset = await client.get(url)
                assert asset.status_code == 200, url
                assert len(asset.content) > 100, url
            assert "/openapi.json" in html.text
