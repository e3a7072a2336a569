"""Cookie ids the server issues: a random part and its HMAC, so an id nobody was given is
refused instead of silently starting a record under a name the client made up (O10)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# <random, 32 chars>.<signature, 22 chars>, both base64url without padding.
PATTERN = r"^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{22}$"


def _signature(secret: str, random_part: str) -> str:
    digest = hmac.new(secret.encode(), b"cookie-id:" + random_part.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:16]).decode().rstrip("=")


def issue(secret: str) -> str:
    random_part = secrets.token_urlsafe(24)
    return f"{random_part}.{_signature(secret, random_part)}"


def is_issued(secret: str, cookie_id: str) -> bool:
    random_part, _, signature = cookie_id.partition(".")
    return bool(signature) and hmac.compare_digest(signature, _signature(secret, random_part))
