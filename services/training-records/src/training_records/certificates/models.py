from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    After the holder's data was erased the certificate is still genuine: `valid` stays true
    and `holder_erased` says that nothing more about the holder is kept.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"valid": True, "status": "valid", "verification_code": "K7QM-3XWT-9PDA",
         "training": "AVG voor beginners", "issued_at": "2026-11-21T10:00:00Z",
         "holder_erased": False, "erased_at": None},
        {"valid": True, "status": "holder_erased", "verification_code": "K7QM-3XWT-9PDA",
         "training": "AVG voor beginners", "issued_at": "2026-11-21T10:00:00Z",
         "holder_erased": True, "erased_at": "2027-02-01T09:30:00Z"},
        {"valid": False, "status": "unknown", "verification_code": "AAAA-BBBB-CCCC",
         "training": None, "issued_at": None, "holder_erased": False, "erased_at": None},
    ]})

    valid: bool = Field(description="The code belongs to a certificate this platform issued.")
    status: Literal["valid", "holder_erased", "unknown"] = Field(
        description="`holder_erased`: genuine, but the holder's data has since been erased at "
        "their request or at the end of its term; `unknown`: no certificate has this code.")
    verification_code: str
    training: str | None = None
    issued_at: datetime | None = None
    holder_erased: bool = False
    erased_at: datetime | None = None
