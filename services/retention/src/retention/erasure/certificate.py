"""Erasure certificates: proof of erasure that names no person, signed with Ed25519.

A certificate is a JSON object. Its signature covers the canonical form of every other member
(keys sorted, no whitespace, UTF-8), including `signature_algorithm` and `key_id`; anyone with
the public key (`GET /v1/erasure-certificates/public-key`) checks it offline with
`python -m retention verify FILE`. The subject appears only as a keyed hash; the free-text
reason of a job is never written into it, only its reason code and reference.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from retention.keys import key_id

ALGORITHM = "Ed25519"
SIGNATURE = "signature"


class NotGenuine(Exception):
    """The certificate is not what retention signed; the message says why."""


def subject_hash(secret: str, subject_id: str) -> str:
    """Keyed hash: whoever knows the id and the key can check it; the certificate alone cannot."""
    digest = hmac.new(secret.encode(), subject_id.encode(), hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest}"


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sign(key: Ed25519PrivateKey, body: dict[str, Any]) -> dict[str, Any]:
    """The body with `signature_algorithm`, `key_id` and `signature` added."""
    signed = {k: v for k, v in body.items() if k != SIGNATURE}
    signed["signature_algorithm"] = ALGORITHM
    signed["key_id"] = key_id(key.public_key())
    return {**signed, SIGNATURE: _b64(key.sign(canonical(signed)))}


def verify(certificate: Any, trusted: Iterable[Ed25519PublicKey]) -> Ed25519PublicKey:
    """The trusted key that signed this certificate; NotGenuine otherwise."""
    if not isinstance(certificate, dict):
        raise NotGenuine("a certificate is a JSON object")
    if "stores" in certificate and "certificate" in certificate and not isinstance(
            certificate.get("certificate"), str):
        raise NotGenuine("this is an erasure job, not its certificate: save the job's "
                         "'certificate' member")
    value = certificate.get(SIGNATURE)
    if not isinstance(value, str) or not value:
        raise NotGenuine("the certificate carries no signature")
    if certificate.get("signature_algorithm") != ALGORITHM:
        raise NotGenuine(f"the signature algorithm is not {ALGORITHM}")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise NotGenuine("the signature is not base64url") from exc
    if _b64(raw) != value:  # e.g. changed padding bits, which a decoder would ignore
        raise NotGenuine("the signature is not in its canonical encoding")
    keys = {key_id(k): k for k in trusted}
    key = keys.get(str(certificate.get("key_id")))
    if key is None:
        raise NotGenuine(f"signed with key {certificate.get('key_id')!r}, which is not among "
                         f"the trusted keys ({', '.join(keys) or 'none'})")
    body = {k: v for k, v in certificate.items() if k != SIGNATURE}
    try:
        key.verify(raw, canonical(body))
    except (InvalidSignature, ValueError) as exc:
        raise NotGenuine("the signature does not match the content: it was changed") from exc
    return key


def parse_document(data: bytes) -> Any:
    """A certificate file as JSON, strictly: UTF-8, one value, no duplicate keys, no NaN."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for name, value in pairs:
            if name in seen:
                raise NotGenuine(f"the member {name!r} appears twice")
            seen[name] = value
        return seen

    def no_constants(name: str) -> Any:
        raise NotGenuine(f"{name} is not JSON")

    try:
        text = data.decode("utf-8")
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except UnicodeDecodeError as exc:
        raise NotGenuine("the file is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise NotGenuine(f"the file is not valid JSON: {exc}") from exc


def verify_document(data: bytes, trusted: Iterable[Ed25519PublicKey]) -> dict[str, Any]:
    """Verify a certificate file's bytes; returns the certificate."""
    certificate = parse_document(data)
    verify(certificate, trusted)
    return certificate
