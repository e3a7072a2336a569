"""The public half of the certificate signing key: anyone may fetch it, once, to verify offline."""

from __future__ import annotations

import base64

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from retention import keys
from retention.settings import SettingsDep

router = APIRouter(prefix="/v1/erasure-certificates", tags=["erasure"])


class PublicKey(BaseModel):
    algorithm: str = "Ed25519"
    key_id: str = Field(description="Written as `key_id` into every certificate it verifies")
    public_key: str = Field(description="The 32 raw bytes, base64")
    public_key_pem: str


@router.get("/public-key", summary="The key that verifies erasure certificates (public)",
            description="Save it (or its `public_key_pem`) and verify a certificate offline: "
            "`python -m retention verify --public-key key.pem certificate.json`.")
async def public_key(settings: SettingsDep) -> PublicKey:
    public = settings.signing_key.public_key()
    return PublicKey(key_id=keys.key_id(public),
                     public_key=base64.b64encode(keys.raw_public(public)).decode(),
                     public_key_pem=keys.public_pem(public))


@router.get("/public-key.pem", response_class=PlainTextResponse,
            summary="The same key as a PEM file (public)")
async def public_key_pem(settings: SettingsDep) -> str:
    return keys.public_pem(settings.signing_key.public_key())
