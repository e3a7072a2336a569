"""Secrets and tokens: every forged, stale or foreign token is a 401 at the gateway and at each
service; production refuses development and weak secrets; public routes are rate-limited per
address, believing X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from consent.settings import Settings as ConsentSettings
from devstack.testing import app_client
from gateway.main import create_app as create_gateway
from gateway.settings import Settings as GatewaySettings
from privacy_kit.auth import TokenVerifier
from privacy_kit.settings import DEV_SECRET, ServiceSettings
from retention.settings import Settings as RetentionSettings

Services = dict[str, tuple[FastAPI, httpx.AsyncClient]]
ISSUER, AUDIENCE = "https://login.example.org", "privacy-suite"
STRONG = "k3J9-vQ2x_Lm8#Tz5Wp1@Rb7Yc4!Hn6Df0Gs"
SERVICE = "Zq8-Wd3_Pr5#Ks1@Vn7Yb2!Mc9Tf4Lh6Gj0X"

# Retention's own production keys (not under test here): random ones.
RETENTION_KEYS = {
    "certificate_signing_key": base64.b64encode(os.urandom(32)).decode(),
    "replay_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
}


def _token(secret: str = DEV_SECRET, *, alg: str = "HS256", **overrides: object) -> str:
    now = int(time.time())
    claims = {"sub": "op-1", "roles": ["operator"], "iat": now, "exp": now + 600,
              "iss": ISSUER, "aud": AUDIENCE, **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm=alg)


def _unsigned(**claims: object) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    now = int(time.time())
    body = {"sub": "op-1", "roles": ["operator"], "iat": now, "exp": now + 600, "iss": ISSUER,
            "aud": AUDIENCE, **claims}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(body)}."


def _tampered() -> str:
    header, body, signature = _token(roles=["participant"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["roles"] = ["operator"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def bad_tokens() -> dict[str, str]:
    now = int(time.time())
    return {
        "alg none": _unsigned(),
        "expired": _token(iat=now - 7200, exp=now - 3600),
        "not yet valid (nbf)": _token(nbf=now + 3600),
        "issued in the future": _token(iat=now + 3600, exp=now + 4000),
        "wrong audience": _token(aud="another-api"),
        "no audience": _token(aud=None),
        "wrong issuer": _token(iss="https://evil.example"),
        "no issuer": _token(iss=None),
        "tampered": _tampered(),
        "other key": _token("another-secret-that-is-long-enough-to-be-a-key"),
        "valid for 100 years": _token(exp=now + 100 * 365 * 24 * 3600),
        "no iat": _token(iat=None),
        "not a jwt": "abc.def",
    }


@pytest.fixture
def strict_verifiers(services: Services) -> Iterator[None]:
    """Every service checks issuer and audience, as production must."""
    kept = {}
    for name, (app, _) in services.items():
        kept[name] = app.state.token_verifier
        strict = app.state.settings.model_copy(update={"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE})
        app.state.token_verifier = TokenVerifier(strict)
    yield
    for name, (app, _) in services.items():
        app.state.token_verifier = kept[name]


def _protected_route(app: FastAPI) -> tuple[str, str]:
    document = app.openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "get" and operation.get("security") and "{" not in path:
                return method, path
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                return method, path.replace("{", "").replace("}", "")
    raise AssertionError("no protected route")


async def test_every_bad_token_is_401_at_every_service(services: Services, strict_verifiers: None) -> None:
    for name, (app, client) in services.items():
        method, path = _protected_route(app)
        good = await client.request(method, path, headers={"Authorization": f"Bearer {_token()}"})
        assert good.status_code != 401, (name, path, good.text)
        for what, token in bad_tokens().items():
            answer = await client.request(method, path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (name, path, what, answer.status_code, answer.text)
            assert answer.json()["error"]["code"] in ("invalid_token", "token_expired")
            assert answer.headers["www-authenticate"] == "Bearer"


async def test_every_bad_token_is_401_at_the_gateway() -> None:
    settings = GatewaySettings(environment="test", jwt_secret=DEV_SECRET, jwt_issuer=ISSUER,
                               jwt_audience=AUDIENCE, upstream_timeout_s=1,
                               retention_url="http://127.0.0.1:9")
    async with app_client(create_gateway(settings)) as gateway:
        # A valid token passes the gateway (the upstream is down: 502, not 401).
        good = await gateway.get("/v1/erasure-jobs", headers={"Authorization": f"Bearer {_token()}"})
        assert good.status_code == 502, good.text
        for what, token in bad_tokens().items():
            answer = await gateway.get("/v1/erasure-jobs", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (what, answer.text)


def test_production_refuses_development_and_weak_secrets() -> None:
    base = {"environment": "production", "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE,
            "service_token_secret": SERVICE}
    for secret, reason in [(DEV_SECRET, "development value"), ("secret", "shorter than 32"),
                           ("a" * 40, "not random"), ("", "development value")]:
        with pytest.raises(ValidationError, match=f"JWT_SECRET: it .*{reason}"):
            ServiceSettings(**base, jwt_secret=secret)
        with pytest.raises(ValidationError, match=f"SERVICE_TOKEN_SECRET: it .*{reason}"):
            ServiceSettings(**{**base, "service_token_secret": secret}, jwt_secret=STRONG)
    assert ServiceSettings(**base, jwt_secret=STRONG).jwt_secret == STRONG
    with pytest.raises(ValidationError, match=r"JWT_ISSUER .* and JWT_AUDIENCE"):
        ServiceSettings(environment="production", jwt_secret=STRONG, service_token_secret=SERVICE)
    with pytest.raises(ValidationError, match=r"JWT_ISSUER .* and JWT_AUDIENCE"):
        ServiceSettings(environment="production", jwt_secret=STRONG, service_token_secret=SERVICE,
                        jwt_issuer=ISSUER)
    # An identity provider's discovery names the issuer: then JWT_ISSUER may stay empty.
    assert ServiceSettings(environment="production", jwt_algorithm="RS256",
                           oidc_issuer_url=ISSUER, jwt_audience=AUDIENCE,
                           service_token_secret=SERVICE)
    with pytest.raises(ValidationError, match="CERTIFICATE_SECRET"):
        RetentionSettings(**base, **RETENTION_KEYS, jwt_secret=STRONG)  # the development certificate key
    with pytest.raises(ValidationError, match="CERTIFICATE_SECRET"):
        RetentionSettings(**base, **RETENTION_KEYS, jwt_secret=STRONG, certificate_secret="short")
    assert RetentionSettings(**base, **RETENTION_KEYS, jwt_secret=STRONG, certificate_secret=STRONG[::-1])
    with pytest.raises(ValidationError, match="COOKIE_ID_SECRET"):
        ConsentSettings(**base, ledger_key=secrets.token_urlsafe(32), jwt_secret=STRONG)  # the development cookie key
    with pytest.raises(ValidationError, match="COOKIE_ID_SECRET"):
        ConsentSettings(**base, ledger_key=secrets.token_urlsafe(32), jwt_secret=STRONG, cookie_id_secret="b" * 40)
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        GatewaySettings(environment="production", jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                        service_token_secret=SERVICE)


async def test_public_routes_are_rate_limited_per_address_behind_trusted_proxies_only() -> None:
    settings = GatewaySettings(environment="test", jwt_secret=DEV_SECRET, upstream_timeout_s=1,
                               public_rate_limit_per_minute=3, trusted_proxies="127.0.0.1/32",
                               consent_url="http://127.0.0.1:9")
    untrusted = settings.model_copy(update={"trusted_proxies": "10.9.9.9"})
    async with app_client(create_gateway(settings)) as gateway:
        first = [await gateway.get("/v1/purposes", headers={"X-Forwarded-For": "203.0.113.7"})
                 for _ in range(4)]
        other = await gateway.get("/v1/purposes", headers={"X-Forwarded-For": "203.0.113.8"})
        # A client cannot escape by forging the header in front of the proxy's own entry.
        forged = await gateway.get("/v1/purposes",
                                   headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"})
    assert [a.status_code for a in first] == [502, 502, 502, 429]
    assert first[-1].headers["retry-after"].isdigit()
    assert first[-1].json()["error"]["code"] == "rate_limited"
    assert other.status_code == 502
    assert forged.status_code == 429
    async with app_client(create_gateway(untrusted)) as gateway:
        spoofed = [await gateway.get("/v1/purposes", headers={"X-Forwarded-For": f"203.0.113.{i}"})
                   for i in range(4)]
    # The connection's own address counts when it is not a trusted proxy.
    assert [a.status_code for a in spoofed] == [502, 502, 502, 429]
