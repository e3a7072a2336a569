"""Token verification (HS256 in development, RS256 against a JWKS in production) and access rules."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from privacy_kit.errors import ApiError
from privacy_kit.identity import ClaimMapping, SigningKeys
from privacy_kit.settings import ServiceSettings

ROLES = ("participant", "beheerder", "dpo", "operator")
STAFF = frozenset({"dpo", "operator"})
# Service tokens: minted by the kit from configuration, for calls between services only.
SERVICE_ROLE = "service"
SERVICE_TOKEN_KID = "privacy-suite-service"
SERVICE_AUDIENCE = "privacy-suite-internal"


@dataclass(frozen=True)
class Principal:
    """Who is calling: `sub` is the person's pseudonymous id, `tenant` absent for staff."""

    sub: str
    tenant: str | None
    roles: frozenset[str]

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF)

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


class TokenVerifier:
    """Checks a bearer token; a token that passed is remembered until it expires.

    The cache holds at most `CACHE_SIZE` tokens (the oldest is dropped first) and keeps each for
    at most `CACHE_HOLD_S`, so a signing key withdrawn from the JWKS stops working within that
    time; an expired token is always checked again (and refused). Only successes are kept.
    """

    CACHE_SIZE = 10_000
    CACHE_HOLD_S = 300.0

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        # Keys (secret, JWKS URL or OIDC discovery) and claim names: see privacy_kit.identity.
        self.keys = SigningKeys(settings)
        self.claims = ClaimMapping.from_settings(settings)
        self._cache: dict[str, tuple[Principal, float]] = {}

    def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        now = time.time()
        if cached is not None:
            if now < cached[1]:
                return cached[0]
            del self._cache[token]
        principal, expires = self._verify(token)
        if len(self._cache) >= self.CACHE_SIZE:
            del self._cache[next(iter(self._cache))]
        self._cache[token] = (principal, min(expires, now + self.CACHE_HOLD_S))
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized("invalid_token", f"The token is not valid: {exc}.") from exc
        if header.get("kid") == SERVICE_TOKEN_KID:
            return self._verify_service(token)
        principal, expires = self._verify_person(token)
        if SERVICE_ROLE in principal.roles:  # only the kit's service tokens carry it
            principal = Principal(principal.sub, principal.tenant, principal.roles - {SERVICE_ROLE})
        return principal, expires

    def _verify_service(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token, self.settings.service_token_secret, algorithms=["HS256"],
                audience=SERVICE_AUDIENCE, options={"require": ["sub", "exp", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise unauthorized("invalid_token", "The service token is not valid.") from exc
        principal = Principal(sub=str(claims["sub"]), tenant=None, roles=frozenset({SERVICE_ROLE}))
        return principal, float(claims["exp"])

    def _verify_person(self, token: str) -> tuple[Principal, float]:
        try:
            key: Any = self.keys.key_for(token)
            options = {"require": ["exp", "iat"]}
            claims = jwt.decode(
                token,
                key,
                algorithms=[self.settings.jwt_algorithm],
                audience=self.settings.jwt_audience or None,
                issuer=self.keys.issuer,
                leeway=self.settings.jwt_leeway_s,
                options=options,  # type: ignore[arg-type]
            )
            self._check_lifetime(claims)
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("token_expired", "Your token has expired; sign in again.") from exc
        except jwt.InvalidSignatureError as exc:
            raise unauthorized("invalid_token", "The token's signature is not valid.") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise unauthorized("invalid_token", f"The token is not valid: {exc}.") from exc
        sub = self.claims.subject_of(claims)
        if sub is None:
            raise unauthorized("invalid_token",
                               f"The token has no '{self.claims.subject}' claim to say who you are.")
        principal = Principal(sub=sub, tenant=self.claims.tenant_of(claims),
                              roles=self.claims.roles_of(claims))
        # Valid until exp (with the leeway the check allows); nbf, if any, has passed.
        return principal, float(claims["exp"]) + self.settings.jwt_leeway_s

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """A stolen token must not work for a century: cap exp - iat (and exp - now)."""
        cap = self.settings.jwt_max_lifetime_s
        if not isinstance(claims["iat"], int | float) or not isinstance(claims["exp"], int | float):
            raise jwt.InvalidTokenError("iat and exp must be numbers")
        longest = cap + self.settings.jwt_leeway_s
        if claims["exp"] - claims["iat"] > longest or claims["exp"] - time.time() > longest:
            raise jwt.InvalidTokenError(f"it is valid for longer than {cap} s")


def unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def mint_token(
    secret: str,
    *,
    role: str | list[str],
    tenant: str | None = None,
    sub: str | None = None,
    ttl_s: int = 8 * 3600,
    now: float | None = None,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """A development token (HS256). Production tokens come from the OIDC issuer."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": sub or str(uuid.uuid4()),
        "roles": [role] if isinstance(role, str) else role,
        "iat": issued,
        "exp": issued + ttl_s,
    }
    if tenant:
        claims["tenant"] = tenant
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


def mint_service_token(settings: ServiceSettings, *, now: float | None = None) -> str:
    """A short-lived token of role `service` naming the calling service (its `sub`)."""
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": settings.service_name,
        "roles": [SERVICE_ROLE],
        "aud": SERVICE_AUDIENCE,
        "iat": issued,
        "exp": issued + settings.service_token_ttl_s,
    }
    return jwt.encode(claims, settings.service_token_secret, algorithm="HS256",
                      headers={"kid": SERVICE_TOKEN_KID})


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise unauthorized("missing_token", "Sign in first: send 'Authorization: Bearer <token>'.")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("invalid_token", "Use 'Authorization: Bearer <token>'.")
    return token.strip()


def current_principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.verify(bearer_token(request))
    request.state.principal = principal
    return principal


async def _principal(request: Request) -> Principal:
    # An async dependency runs on the event loop; a plain def would take a thread-pool hop.
    return current_principal(request)


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: the caller holds at least one of `roles`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has(*roles):
            raise forbidden(f"This needs one of the roles: {', '.join(roles)}.")
        return principal

    return check


def same_id(claim: str | None, value: str | uuid.UUID) -> bool:
    """Whether a token's claim names this id; uuids compare by value, whatever their spelling."""
    if not claim:
        return False
    if isinstance(value, uuid.UUID):
        try:
            return uuid.UUID(claim) == value
        except ValueError:
            return False
    return claim == value


def check_tenant(principal: Principal, tenant_id: str | uuid.UUID) -> None:
    """Staff see every tenant; everyone else only their own."""
    if principal.is_staff:
        return
    if not same_id(principal.tenant, tenant_id):
        raise forbidden("This belongs to another organisation.")


def check_subject(principal: Principal, subject_id: str) -> None:
    """A participant reaches only their own data; staff reach everyone's."""
    if principal.is_staff or principal.sub == subject_id:
        return
    raise forbidden("You can only reach your own data.")


async def subject_access(subject_id: str, principal: CurrentPrincipal) -> Principal:
    """Dependency for routes with a `{subject_id}` path parameter."""
    check_subject(principal, subject_id)
    return principal


SubjectPrincipal = Annotated[Principal, Depends(subject_access)]

# Role aliases every service uses, so the rule is written once.
Staff = Annotated[Principal, Depends(require_roles(*STAFF))]
Operator = Annotated[Principal, Depends(require_roles("operator"))]
ServiceCaller = Annotated[Principal, Depends(require_roles(SERVICE_ROLE))]


def check_tenant_manager(principal: Principal, tenant_id: str | uuid.UUID) -> None:
    """Staff, or a Beheerder of this tenant: those who manage a client organisation's data."""
    if principal.is_staff:
        return
    if not principal.has("beheerder"):
        raise forbidden("This needs a Beheerder of this organisation, or platform staff.")
    check_tenant(principal, tenant_id)


async def tenant_manager_access(tenant_id: str, principal: CurrentPrincipal) -> Principal:
    """Dependency for `{tenant_id}` routes that only the tenant's Beheerders and staff use."""
    check_tenant_manager(principal, tenant_id)
    return principal


TenantManager = Annotated[Principal, Depends(tenant_manager_access)]
