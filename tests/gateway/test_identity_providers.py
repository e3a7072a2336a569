"""Tokens as Keycloak and Microsoft Entra ID issue them, signed by a test RSA key whose JWKS a
local OpenID provider serves on 127.0.0.1: accepted with the claim mapping from settings,
refused without it, and refused for another audience, issuer or key."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.testing import app_client
from gateway.main import create_app
from gateway.settings import Settings
from privacy_kit.identity import ClaimMapping, claim

AUDIENCE = "api://privacy-suite"
ENTRA_DIRECTORY = "9188040d-6c67-4c5b-b112-36a304b66dad"
TENANT = str(uuid.uuid4())


class Provider:
    """A local OpenID provider: discovery documents for two issuers and one JWKS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": "test-key", "use": "sig", "alg": "RS256"}]}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = provider.answer(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body or {}).encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.keycloak = f"{self.base}/realms/opleidingen"
        self.entra = f"{self.base}/{ENTRA_DIRECTORY}/v2.0"

    def answer(self, path: str) -> dict[str, Any] | None:
        for issuer in (self.keycloak, self.entra):
            prefix = issuer.removeprefix(self.base)
            if path == f"{prefix}/.well-known/openid-configuration":
                return {"issuer": issuer, "jwks_uri": f"{issuer}/keys",
                        "id_token_signing_alg_values_supported": ["RS256"]}
            if path == f"{prefix}/keys":
                return self.jwks
        return None

    def sign(self, claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None) -> str:
        now = int(time.time())
        return jwt.encode({"iat": now, "nbf": now, "exp": now + 300, **claims},
                          key or self.key, algorithm="RS256", headers={"kid": "test-key"})


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    p = Provider()
    thread = threading.Thread(target=p.server.serve_forever, daemon=True)
    thread.start()
    yield p
    p.server.shutdown()


def keycloak_token(provider: Provider, **overrides: Any) -> str:
    """A Keycloak access token: roles under realm_access, the tenant from a user attribute."""
    return provider.sign({
        "jti": str(uuid.uuid4()), "iss": provider.keycloak, "aud": [AUDIENCE, "account"],
        "sub": "5d3f2b8e-7c1a-4e0b-9f6d-2a8c4b1e7f30", "typ": "Bearer",
        "azp": "opleidingen-frontend", "session_state": str(uuid.uuid4()),
        "realm_access": {"roles": ["offline_access", "uma_authorization", "beheerder"]},
        "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
        "scope": "openid email profile", "email_verified": True, "tenant": TENANT,
        "preferred_username": "petra.jansen", **overrides,
    })


ENTRA_OID = "00000000-0000-0000-66f3-3332eca7ea81"


def entra_token(provider: Provider, **overrides: Any) -> str:
    """An Entra ID v2 access token: app roles in `roles`, the person in `oid` (its `sub` is
    pairwise per application), the organisation in a directory extension."""
    return provider.sign({
        "aud": AUDIENCE, "iss": provider.entra, "ver": "2.0", "tid": ENTRA_DIRECTORY,
        "oid": ENTRA_OID, "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "azp": "6e74172b-be56-4843-9ff4-e66a39bb12e3", "azpacr": "0", "scp": "access_as_user",
        "roles": ["participant"], "name": "Sanne de Vries", "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "extension_6e74172bbe564843_tenant": TENANT, **overrides,
    })


def gateway(settings: Settings, provider_issuer: str, **mapping: str) -> Any:
    return create_app(settings.model_copy(update={
        "jwt_algorithm": "RS256", "oidc_issuer_url": provider_issuer, "jwt_audience": AUDIENCE,
        "jwt_secret": "unused", **mapping}))


async def test_keycloak_token_accepted_with_its_mapping_and_refused_without(
    provider: Provider, gateway_settings: Settings,
) -> None:
    headers = {"Authorization": f"Bearer {keycloak_token(provider)}"}
    # A Beheerder may reach their participants' subject paths; a caller without roles may not.
    url = f"/v1/subjects/{uuid.uuid4()}/consents"
    mapped = gateway(gateway_settings, provider.keycloak, jwt_roles_claim="realm_access.roles")
    async with app_client(mapped) as client:
        allowed = await client.get(url, headers=headers)
        other_tenant = await client.get(f"/v1/tenants/{uuid.uuid4()}/participants",
                                        headers=headers)
        not_an_operator = await client.post("/v1/tenants", headers=headers, json={"name": "X"})
    assert allowed.status_code == 200, allowed.text  # reached the (echo) service
    assert allowed.json()["headers"]["authorization"] == headers["Authorization"]
    assert other_tenant.status_code == 403
    assert not_an_operator.status_code == 403
    async with app_client(gateway(gateway_settings, provider.keycloak)) as client:
        unmapped = await client.get(url, headers=headers)  # no `roles` claim: no roles
    assert unmapped.status_code == 403, unmapped.text
    assert unmapped.json()["error"]["code"] == "forbidden"


async def test_entra_token_accepted_with_its_mapping_and_refused_without(
    provider: Provider, gateway_settings: Settings,
) -> None:
    headers = {"Authorization": f"Bearer {entra_token(provider)}"}
    own = f"/v1/subjects/{ENTRA_OID}/consents"
    mapping = {"jwt_subject_claim": "oid",
               "jwt_tenant_claim": "extension_6e74172bbe564843_tenant"}
    async with app_client(gateway(gateway_settings, provider.entra, **mapping)) as client:
        allowed = await client.get(own, headers=headers)
        someone_else = await client.get(f"/v1/subjects/{uuid.uuid4()}/consents", headers=headers)
        own_tenant = await client.get(f"/v1/tenants/{TENANT}", headers=headers)
    assert allowed.status_code == 200, allowed.text
    assert someone_else.status_code == 403
    assert own_tenant.status_code == 200, own_tenant.text
    async with app_client(gateway(gateway_settings, provider.entra)) as client:
        as_pairwise_sub = await client.get(own, headers=headers)
        no_tenant = await client.get(f"/v1/tenants/{TENANT}", headers=headers)
    assert as_pairwise_sub.status_code == 403  # `sub` is not the person's id
    assert no_tenant.status_code == 403


async def test_audience_issuer_and_key_are_checked(
    provider: Provider, gateway_settings: Settings,
) -> None:
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = {
        "another audience": keycloak_token(provider, aud="another-api"),
        "another issuer": keycloak_token(provider, iss=f"{provider.base}/realms/other"),
        "another key": provider.sign({"iss": provider.keycloak, "aud": AUDIENCE, "sub": "x"},
                                     key=stranger_key),
        "expired": keycloak_token(provider, exp=int(time.time()) - 60),
        "the other provider's issuer": entra_token(provider),
    }
    mapped = gateway(gateway_settings, provider.keycloak, jwt_roles_claim="realm_access.roles")
    async with app_client(mapped) as client:
        for what, token in refused.items():
            answer = await client.get(f"/v1/tenants/{TENANT}/participants",
                                      headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, what
            assert answer.json()["error"]["code"] in ("invalid_token", "token_expired"), what


def test_claim_paths_reach_nested_and_namespaced_claims() -> None:
    claims = {"realm_access": {"roles": ["dpo"]}, "https://example.org/roles": ["operator"],
              "scope": "participant beheerder", "org": ["t-1", "t-2"]}
    assert claim(claims, "realm_access.roles") == ["dpo"]
    assert claim(claims, "https://example.org/roles") == ["operator"]
    assert claim(claims, "realm_access.missing") is None
    mapping = ClaimMapping(roles=("realm_access.roles", "https://example.org/roles", "scope"),
                           tenant="org")
    assert mapping.roles_of(claims) == {"dpo", "operator", "participant", "beheerder"}
    assert mapping.tenant_of(claims) == "t-1"
