"""Tokens from real identity providers: where the signing keys are, and which claims say who.

Keycloak, Microsoft Entra ID and Auth0 all sign RS256 tokens with keys they publish as a JWKS,
but name things differently. Settings say where to look (environment variables, no prefix):

- `OIDC_ISSUER_URL`: the issuer; its `/.well-known/openid-configuration` gives the `jwks_uri`
  and the issuer every token must carry (fetched once, at the first token). `JWKS_URL` instead
  names the key set directly (then `JWT_ISSUER` is checked when set).
- `JWT_AUDIENCE`: the audience every token must carry (the client id of this API).
- `JWT_SUBJECT_CLAIM` (`sub`): the person's pseudonymous id; Entra ID: `oid`.
- `JWT_ROLES_CLAIM` (`roles`): where the roles are; a dotted path reaches nested claims
  (Keycloak: `realm_access.roles`, or `resource_access.<client>.roles`); several paths may be
  given, comma-separated, and their roles are joined. A claim name that itself contains dots
  (Auth0's namespaced `https://example.org/roles`) is taken as a whole first.
- `JWT_TENANT_CLAIM` (`tenant`): the client organisation, the same way (e.g. a Keycloak user
  attribute mapped to `tenant`, an Entra ID directory extension `extension_<app>_tenant`).

A claim value may be a list or one string; roles in one space-separated string (as in a
`scope`) are split.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

from privacy_kit.settings import ServiceSettings

DISCOVERY_PATH = "/.well-known/openid-configuration"
_DISCOVERY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ClaimMapping:
    subject: str = "sub"
    roles: tuple[str, ...] = ("roles",)
    tenant: str = "tenant"

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> ClaimMapping:
        roles = tuple(p.strip() for p in settings.jwt_roles_claim.split(",") if p.strip())
        return cls(subject=settings.jwt_subject_claim, roles=roles or ("roles",),
                   tenant=settings.jwt_tenant_claim)

    def subject_of(self, claims: dict[str, Any]) -> str | None:
        value = claim(claims, self.subject)
        return str(value) if value not in (None, "") else None

    def tenant_of(self, claims: dict[str, Any]) -> str | None:
        value = claim(claims, self.tenant)
        if isinstance(value, list):  # a group-like claim: the first one counts
            value = value[0] if value else None
        return str(value) if value not in (None, "") else None

    def roles_of(self, claims: dict[str, Any]) -> frozenset[str]:
        found: set[str] = set()
        for path in self.roles:
            value = claim(claims, path)
            if isinstance(value, str):
                found.update(value.split())
            elif isinstance(value, list | tuple):
                found.update(str(v) for v in value)
        return frozenset(found)


def claim(claims: dict[str, Any], path: str) -> Any:
    """The claim named `path`: as a whole key first, else walked by dots."""
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class OidcDiscovery:
    """An issuer's OpenID configuration, fetched once (thread-safe; the verifier runs on the
    event loop, so this blocks at most once per process, like the first JWKS fetch)."""

    def __init__(self, issuer_url: str) -> None:
        self.issuer_url = issuer_url.rstrip("/")
        self._config: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def config(self) -> dict[str, Any]:
        with self._lock:
            if self._config is None:
                self._config = self._fetch()
            return self._config

    def _fetch(self) -> dict[str, Any]:
        url = self.issuer_url + DISCOVERY_PATH
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"OIDC_ISSUER_URL must be an http(s) URL, not {self.issuer_url!r}")
        try:
            with urllib.request.urlopen(url, timeout=_DISCOVERY_TIMEOUT_S) as answer:  # noqa: S310
                config = json.loads(answer.read())
        except (OSError, ValueError) as exc:
            raise jwt.PyJWKClientConnectionError(
                f"cannot read the OpenID configuration at {url}: {exc}") from exc
        if not isinstance(config, dict) or "jwks_uri" not in config:
            raise jwt.PyJWKClientConnectionError(f"{url} names no jwks_uri")
        if str(config.get("issuer", "")).rstrip("/") != self.issuer_url:
            raise jwt.PyJWKClientConnectionError(
                f"{url} is the configuration of issuer {config.get('issuer')!r}, "
                f"not {self.issuer_url!r}")
        return config

    @property
    def jwks_uri(self) -> str:
        return str(self.config["jwks_uri"])

    @property
    def issuer(self) -> str:
        return str(self.config["issuer"])


class SigningKeys:
    """Where the verifier gets its key and which issuer it expects."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.discovery = OidcDiscovery(settings.oidc_issuer_url) if settings.oidc_issuer_url \
            else None
        self._jwks: jwt.PyJWKClient | None = None
        if settings.jwt_algorithm == "RS256" and settings.jwks_url:
            self._jwks = jwt.PyJWKClient(settings.jwks_url)
        self._lock = threading.Lock()

    def _client(self) -> jwt.PyJWKClient | None:
        if self._jwks is None and self.discovery is not None:
            with self._lock:
                if self._jwks is None:
                    self._jwks = jwt.PyJWKClient(self.discovery.jwks_uri)
        return self._jwks

    @property
    def asymmetric(self) -> bool:
        return self.settings.jwt_algorithm == "RS256"

    def key_for(self, token: str) -> Any:
        client = self._client() if self.asymmetric else None
        if client is None:
            if self.asymmetric:
                raise jwt.InvalidKeyError("RS256 needs JWKS_URL or OIDC_ISSUER_URL")
            return self.settings.jwt_secret
        return client.get_signing_key_from_jwt(token).key

    @property
    def issuer(self) -> str | None:
        if self.settings.jwt_issuer:
            return self.settings.jwt_issuer
        if self.discovery is not None and self.asymmetric:
            return self.discovery.issuer
        return None
