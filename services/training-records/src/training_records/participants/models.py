from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from privacy_kit.guards import amsterdam_today, strict_date_text, up_to_today

_FORBID = ConfigDict(extra="forbid")


class Address(BaseModel):
    model_config = _FORBID
    street: str | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    country: str | None = Field(None, max_length=100)


class Education(BaseModel):
    model_config = _FORBID
    institution: str = Field(max_length=200)
    qualification: str | None = Field(None, max_length=200)
    year: int | None = Field(None, ge=1900, le=2100)


class WorkExperience(BaseModel):
    model_config = _FORBID
    employer: str = Field(max_length=200)
    role: str | None = Field(None, max_length=200)
    from_year: int | None = Field(None, ge=1900, le=2100)
    to_year: int | None = Field(None, ge=1900, le=2100)


class ParentalConsent(BaseModel):
    """O6: verified consent of a parent or guardian for a participant under 16. It is kept in
    one place, the consent service's parental-consent records; this store keeps its id."""

    model_config = _FORBID
    method: str = Field(min_length=1, max_length=200, description="How it was verified.")
    verified_at: Annotated[
        date, BeforeValidator(strict_date_text),
        AfterValidator(up_to_today("parental consent cannot be verified in the future")),
    ] = Field(description="The day it was verified (Europe/Amsterdam), as text 'YYYY-MM-DD': "
              "not in the future, not before the birth date.")
    guardian_reference: str | None = Field(
        None, min_length=1, max_length=200,
        description="A pseudonymous reference to the guardian and the proof, not a name.")


Preferences = dict[str, str | int | bool | None]


def _not_future(value: date | None) -> date | None:
    if value is not None and value > amsterdam_today():
        raise ValueError("a birth date cannot lie in the future")
    if value is not None and value.year < 1900:
        raise ValueError("a birth date before 1900 is not plausible")
    return value


_CREATE_EXAMPLE: dict[str, Any] = {
    "name": "Sanne de Vries", "email": "sanne@example.org", "birth_date": "1990-04-12",
    "phone": "+31 20 123 4567", "company": "Acme B.V.",
    "address": {"street": "Kerkstraat 1", "postal_code": "1011 AB", "city": "Amsterdam"},
    "preferences": {"language": "nl"},
}


class ParticipantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CREATE_EXAMPLE]})

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    birth_date: date
    address: Address | None = None
    phone: str | None = Field(None, max_length=40)
    company: str | None = Field(None, max_length=200)
    education: list[Education] | None = Field(None, max_length=50)
    work_history: list[WorkExperience] | None = Field(None, max_length=50)
    preferences: Preferences | None = None
    parental_consent: ParentalConsent | None = Field(
        None, description="Required when the participant is under 16 (O6)."
    )

    _birth = field_validator("birth_date")(_not_future)


class ParticipantUpdate(BaseModel):
    """A rectification (O24): only the fields sent are changed, and each change is kept."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "sanne.devries@example.org"}]},
    )

    name: str | None = Field(None, min_length=1, max_length=200)
    email: EmailStr | None = None
    birth_date: date | None = None
    address: Address | None = None
    phone: str | None = Field(None, max_length=40)
    company: str | None = Field(None, max_length=200)
    education: list[Education] | None = Field(None, max_length=50)
    work_history: list[WorkExperience] | None = Field(None, max_length=50)
    preferences: Preferences | None = None
    parental_consent: ParentalConsent | None = None

    _birth = field_validator("birth_date")(_not_future)

    @model_validator(mode="after")
    def _required_stay_set(self) -> ParticipantUpdate:
        for name in ("name", "email", "birth_date"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"'{name}' can be corrected but not removed")
        return self


class ParticipantRead(BaseModel):
    """A participant. For a restricted person a Beheerder sees only id, tenant and `restricted`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "id": "6f1c0e9a-8a57-4c36-9d1e-3f3b1f0c2a11",
                "tenant_id": "0b5c3d4e-6f70-4a8b-9c0d-1e2f3a4b5c6d",
                **_CREATE_EXAMPLE, "restricted": False,
                "created_at": "2026-11-21T10:00:00Z", "updated_at": "2026-11-21T10:00:00Z",
            }]
        }
    )

    id: uuid.UUID
    tenant_id: uuid.UUID
    restricted: bool = False
    name: str | None = None
    email: str | None = None
    birth_date: date | None = None
    address: dict[str, Any] | None = None
    phone: str | None = None
    company: str | None = None
    education: list[dict[str, Any]] | None = None
    work_history: list[dict[str, Any]] | None = None
    preferences: dict[str, Any] | None = None
    parental_consent: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    status: Literal["active", "closed", "restricted"] | None = Field(
        None, description="Whether the account is active, closed or restricted.")
    view: Literal["full", "summary", "restricted"] = Field(
        "full", description="O2: `summary` (name and status only) for a Beheerder who did not "
        "register or assign this participant (nor their team) in a tenant without a shared "
        "view; `restricted` when processing is restricted (id only).")


class ParticipantCreated(ParticipantRead):
    pass


class ParticipantUpdated(ParticipantRead):
    changed_fields: list[str] = []
    erasure_requested: bool = Field(
        False,
        description="True when the correction makes the person under 16 without parental "
        "consent: retention is asked to erase them (O6).",
    )


class Rectification(BaseModel):
    id: int
    field: str
    old_value: Any
    new_value: Any
    changed_by: str
    changed_at: datetime


class AccessLogEntry(BaseModel):
    id: int
    actor: str
    actor_roles: list[str]
    what: str
    route: str
    read_at: datetime
    purpose: str | None = None
    reason: str | None = Field(None, description="The reason staff stated (X-Access-Reason).")


class RestrictionState(BaseModel):
    participant_id: uuid.UUID
    restricted: bool
    restricted_at: datetime | None = None


class AccountClosure(BaseModel):
    """The account is closed: the clock `account_closed` of the retention rules runs (O15)."""

    participant_id: uuid.UUID
    closed_at: datetime


class BeheerderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Petra Jansen", "email": "hr@example.org"}]},
    )
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    phone: str | None = Field(None, max_length=40)
    team: str | None = Field(
        None, min_length=1, max_length=100,
        description="O2: Beheerders of one team see the participants any of them registered or "
        "assigned (unless the tenant's `beheerder_view` is `shared`: then all see all).")


class BeheerderRead(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    email: str
    phone: str | None = None
    created_at: datetime
    team: str | None = None


class ImportLineError(BaseModel):
    line: int
    field: str
    reason: str


class ImportReport(BaseModel):
    imported: int
    participants: list[dict[str, Any]] = Field(
        description="One entry per imported row: its line number and the new participant id."
    )
