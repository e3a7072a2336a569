from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class CertificateRead(BaseModel):
    id: uuid.UUID
    participant_id: uuid.UUID
    training_id: uuid.UUID
    training: str
    verification_code: str
    issued_at: datetime


class CertificateVerification(BaseModel):
    """What anyone holding a code learns: that it is genuine, for which training and when.

    The holder's name is not returned: the verifier compares it with the PDF they were shown.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "valid": True, "verification_code": "K7QM-3XWT-9PDA", "training": "AVG voor beginners",
        "issued_at": "2026-11-21T10:00:00Z"}]})

    valid: bool
    verification_code: str
    training: str | None = None
    issued_at: datetime | None = None
