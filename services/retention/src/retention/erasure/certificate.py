"""Erasure certificates: proof of erasure that names no person."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def subject_hash(secret: str, subject_id: str) -> str:
    """Keyed hash: whoever knows the id and the key can check it; the certificate alone cannot."""
    digest = hmac.new(secret.encode(), subject_id.encode(), hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest}"


def sign(secret: str, certificate: dict[str, Any]) -> str:
    canonical = json.dumps(certificate, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def verify(secret: str, certificate: dict[str, Any]) -> bool:
    unsigned = {k: v for k, v in certificate.items() if k != "signature"}
    return hmac.compare_digest(sign(secret, unsigned), str(certificate.get("signature", "")))
