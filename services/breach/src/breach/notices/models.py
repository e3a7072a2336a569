"""Notices: to each affected client organisation (O27) and to affected people (O28)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from breach.clock import IncidentTimes, Instant, local
from breach.register.models import Nature, Risk, State


class Contact(BaseModel):
    """Where the platform's DPO can be reached (Art. 33(3)(b))."""

    organisation: str
    name: str
    email: str
    phone: str


class NoticeContent(IncidentTimes):
    """What a Beheerder needs for their own report to the AP (Art. 33(3))."""

    title: str
    description: str
    nature: list[Nature]
    cause: str
    data_categories: list[str]
    subject_categories: list[str]
    occurred_from: datetime | None
    occurred_until: datetime | None
    discovered_at: datetime
    aware_at: datetime | None
    ongoing: bool
    unintelligible: bool
    unintelligible_how: str
    consequences: str
    measures_taken: str
    measures_proposed: str
    cross_border: bool
    member_states: list[str]
    risk: Risk | None = Field(description="The platform's own assessment, if made yet")
    state: State


class TenantNotice(BaseModel):
    """One client organisation's notice: its own people's count, the breach's facts, the clock."""

    id: uuid.UUID
    breach_id: uuid.UUID
    tenant_id: str
    status: Literal["open", "notified"]
    affected_subjects: int = Field(description="This organisation's people known to be affected")
    all_participants_may_be_affected: bool
    participants_in_tenant: int | None = Field(
        description="How many participants the organisation has (when all may be affected)")
    opened_at: datetime
    updated_at: datetime = Field(description="Last change to the notice or the breach's facts")
    due_at: datetime
    overdue: bool
    minutes_left: int = Field(description="Until due; negative once overdue")
    notified_at: datetime | None
    notified_via: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    content: NoticeContent
    contact: Contact

    @computed_field  # type: ignore[prop-decorator]
    @property
    def due_at_amsterdam(self) -> datetime | None:
        return local(self.due_at)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def acknowledged_at_amsterdam(self) -> datetime | None:
        return local(self.acknowledged_at)


class Delivery(BaseModel):
    """Staff record that a notice reached the organisation another way."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "via": "phone", "delivered_at": "2026-03-28T14:10:00+01:00",
        "note": "Told their privacy officer by phone; the portal notice follows."}]})

    via: Literal["phone", "e-mail", "letter", "other"]
    delivered_at: Instant
    note: str = Field(default="", max_length=2_000, description="Must not name people")


class PeopleNoticeCreate(BaseModel):
    """Tell affected people (Art. 34). Without subject_ids: everyone affected not yet told."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "message": "Change your password and be wary of e-mails asking for it."}]})

    subject_ids: list[str] | None = Field(default=None, max_length=200_000)
    message: str = Field(default="", max_length=5_000,
                         description="Advice to add to the notice (Art. 34(2)); no names")


class PeopleNoticeResult(BaseModel):
    notified: int = Field(description="People told now")
    already_notified: int
    without_contact: int = Field(description="Affected, but no address is known to write to")
    not_affected: int = Field(description="Named ids that are not among this breach's subjects")


class PeopleNoticeRecord(BaseModel):
    subject_id: str
    tenant_id: str | None
    channel: str
    notified_at: datetime
    message_id: uuid.UUID | None


class MyNotice(BaseModel):
    """A breach notice sent to the person asking: what they were told, and when."""

    id: uuid.UUID
    breach_id: uuid.UUID
    channel: str
    notified_at: datetime
    title: str | None
    body: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def notified_at_amsterdam(self) -> datetime | None:
        return local(self.notified_at)
