"""Token verification: HS256 in development, RS256 against a JWKS URL in production."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from privacy_kit.auth import TokenVerifier, mint_service_token, mint_token
from privacy_kit.errors import ApiError
from privacy_kit.settings import DEV_SECRET, ServiceSettings

# Secrets production accepts: at least 32 bytes, random-looking.
SERVICE_SECRET = "s1-t2_u3#v4@w5!x6%y7^z8&a9*b0(c1)d2"
JWT_SECRET = "x1-y2_z3#w4@v5!u6%t7^s8&r9*q0(p1)o2"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


def _rs256(key: rsa.RSAPrivateKey, **claims: object) -> str:
    now = int(time.time())
    payload = {"sub": "p-1", "tenant": "t-1", "roles": ["participant"], "iat": now,
               "exp": now + 60, "iss": "https://login.example", "aud": "privacy-suite", **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


def test_rs256_tokens_verify_against_the_jwks(rsa_key: rsa.RSAPrivateKey, jwks_url: str) -> None:
    verifier = TokenVerifier(ServiceSettings(
        environment="production", jwt_algorithm="RS256", jwks_url=jwks_url,
        jwt_issuer="https://login.example", jwt_audience="privacy-suite",
        service_token_secret=SERVICE_SECRET))
    principal = verifier.verify(_rs256(rsa_key))
    assert (principal.sub, principal.tenant, principal.roles) == ("p-1", "t-1", frozenset({"participant"}))

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ApiError) as forged:
        verifier.verify(_rs256(other_key))
    assert forged.value.status_code == 401
    with pytest.raises(ApiError) as wrong_audience:
        verifier.verify(_rs256(rsa_key, aud="someone-else"))
    assert wrong_audience.value.status_code == 401
    # A development token (HS256) is not accepted where RS256 is configured.
    with pytest.raises(ApiError):
        verifier.verify(mint_token(DEV_SECRET, role="operator"))


def test_hs256_rejects_expired_and_foreign_tokens() -> None:
    verifier = TokenVerifier(ServiceSettings())
    assert verifier.verify(mint_token(DEV_SECRET, role="dpo", sub="d")).roles == {"dpo"}
    with pytest.raises(ApiError) as expired:
        verifier.verify(mint_token(DEV_SECRET, role="dpo", now=time.time() - 7200, ttl_s=60))
    assert expired.value.code == "token_expired"
    with pytest.raises(ApiError) as forged:
        verifier.verify(mint_token("another-secret", role="dpo"))
    assert forged.value.code == "invalid_token"


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="development value"):
        ServiceSettings(environment="production")
    with pytest.raises(ValidationError, match="SERVICE_TOKEN_SECRET: it is a development value"):
        ServiceSettings(environment="production", jwt_secret=JWT_SECRET)
    with pytest.raises(ValidationError, match="JWKS_URL"):
        ServiceSettings(environment="production", jwt_algorithm="RS256",
                        service_token_secret=SERVICE_SECRET)


def test_service_tokens_come_only_from_the_kit_with_the_service_secret() -> None:
    settings = ServiceSettings(service_name="subject-rights")
    verifier = TokenVerifier(ServiceSettings(service_name="consent"))
    caller = verifier.verify(mint_service_token(settings))
    assert (caller.sub, caller.tenant, caller.roles) == ("subject-rights", None, {"service"})
    # A person's token claiming the role does not get it.
    person = verifier.verify(mint_token(DEV_SECRET, role=["service", "participant"], sub="p"))
    assert person.roles == {"participant"}
    # Signed with the person's secret instead of the service secret: refused.
    forged = ServiceSettings(service_name="x", service_token_secret=DEV_SECRET)
    with pytest.raises(ApiError) as refused:
        verifier.verify(mint_service_token(forged))
    assert refused.value.status_code == 401
    expired = mint_service_token(settings, now=time.time() - 3600)
    with pytest.raises(ApiError):
        verifier.verify(expired)


def test_a_verified_token_is_remembered_until_it_expires_and_no_longer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = TokenVerifier(ServiceSettings(jwt_leeway_s=0))
    token = mint_token(DEV_SECRET, role="participant", tenant="t1", sub="p-1", ttl_s=2)
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # from the cache: no second signature check
    # Past its expiry the cached answer is not used: the token is checked again and refused.
    time.sleep(max(0.0, verifier._cache[token][1] - time.time()) + 1.1)
    with pytest.raises(ApiError) as refused:
        verifier.verify(token)
    assert refused.value.code == "token_expired"
    # A refused token is never remembered, and the cache stays within its bound.
    monkeypatch.setattr(TokenVerifier, "CACHE_SIZE", 3)
    tokens = [mint_token(DEV_SECRET, role="participant", sub=f"p-{i}") for i in range(5)]
    for t in tokens:
        verifier.verify(t)
    assert len(verifier._cache) == 3 and tokens[-1] in verifier._cache
    assert token not in verifier._cache
