"""Retention's keys: the Ed25519 key that signs certificates and the key of the replay log.

Both come from settings. The development values below are public (they are in this file):
fine for a laptop and tests, refused when `ENVIRONMENT=production`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# base64 of a 32-byte Ed25519 seed and a Fernet key, both derived from a public phrase.
DEV_SIGNING_KEY = "tApXWi+eToCRfCvYcs5fFfY8tZK/UiUET1HEvk6RvK0="
DEV_REPLAY_KEY = "F9H72asEa7bzV1naY9exhiI2LUZKlHoQi7fpaBnqX6s="


class KeyProblem(ValueError):
    """A key that cannot be read; the message says what was expected."""


def _raw32(value: str) -> bytes | None:
    """32 bytes from standard or urlsafe base64 (padding optional), else None."""
    text = value.strip()
    padded = text + "=" * (-len(text) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(padded.encode())
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    return None


def load_private_key(value: str) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) Ed25519 private key, or base64 of its 32 raw bytes."""
    text = value.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyProblem(f"CERTIFICATE_SIGNING_KEY is not a readable PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyProblem("CERTIFICATE_SIGNING_KEY must be an Ed25519 key")
        return key
    raw = _raw32(text)
    if raw is None:
        raise KeyProblem("CERTIFICATE_SIGNING_KEY is neither a PEM Ed25519 private key nor "
                        "base64 of 32 raw bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key, written into every certificate it signs."""
    return "ed25519:" + hashlib.sha256(raw_public(key)).hexdigest()[:16]


def load_public_key(value: str) -> Ed25519PublicKey:
    """A public key given as PEM, as base64 of its 32 raw bytes, as the JSON answer of
    `GET /v1/erasure-certificates/public-key`, or as the path of a file holding any of those."""
    text = value.strip()
    if not text.startswith(("-----BEGIN", "{")) and _raw32(text) is None:
        path = Path(text).expanduser()
        try:
            text = path.read_text().strip()
        except OSError as exc:
            raise KeyProblem(f"{value!r} is neither a public key nor a readable file: {exc}") from exc
    if text.startswith("{"):
        try:
            text = str(json.loads(text)["public_key_pem"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyProblem("the JSON holds no 'public_key_pem'") from exc
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyProblem(f"not a readable PEM public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyProblem("the public key is not an Ed25519 key")
        return key
    raw = _raw32(text)
    if raw is None:
        raise KeyProblem("a public key is PEM or base64 of 32 raw bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def load_replay_key(value: str) -> Fernet:
    try:
        return Fernet(value.strip().encode())
    except (ValueError, binascii.Error) as exc:
        raise KeyProblem("REPLAY_KEY must be a Fernet key: urlsafe base64 of 32 random bytes "
                        "(python -c 'from cryptography.fernet import Fernet; "
                        "print(Fernet.generate_key().decode())')") from exc


@dataclass(frozen=True)
class ProofKeys:
    """What completing a job needs: the key that signs its certificate, and the key that seals
    the subject id kept in the replay log."""

    signing_key: Ed25519PrivateKey
    replay_cipher: Fernet
