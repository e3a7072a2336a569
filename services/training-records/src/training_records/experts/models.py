from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class ExpertCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Dr. Anna Bakker", "email": "anna@example.org", "headline": "Privacy lawyer",
        "bio": "Twenty years of data protection practice.", "expertise": ["AVG", "security"]}]})
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    headline: str = Field("", max_length=200)
    bio: str = Field("", max_length=5000)
    expertise: list[str] = Field([], max_length=50)


class ExpertPublic(BaseModel):
    """What customers may see: never the e-mail address."""

    id: uuid.UUID
    name: str
    headline: str
    bio: str
    expertise: list[str]


class ExpertRead(ExpertPublic):
    email: str
    created_at: datetime
