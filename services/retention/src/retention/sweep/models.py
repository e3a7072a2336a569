from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

SweepStatus = Literal["counting", "awaiting_approval", "erasing", "completed", "superseded"]


class SweepItem(BaseModel):
    """One category of one store: its rule, the dry run's count and what the jobs removed."""

    store: str
    category: str
    planned: bool = Field(description="The category has a rule this sweep applied; false: its "
                                      "records went along with another category's")
    period: str | None = None
    clock: str | None = None
    action: str | None = None
    auto_approve: bool = False
    cutoff: datetime | None = Field(default=None, description="Records whose clock started "
                                                              "before this went")
    counted: int | None = Field(default=None, description="What the dry run counted; null when "
                                                          "the store does not sweep it itself")
    job_id: UUID | None = None
    removed: int | None = Field(default=None, description="What the approved sweep removed")
    difference: int | None = Field(
        default=None, description="counted - removed: records that changed in between")


class SweepTotals(BaseModel):
    counted: int
    removed: int | None
    difference: int | None


class SweepRead(BaseModel):
    id: UUID
    status: SweepStatus = Field(description=(
        "counting: the stores are counting (dry run); awaiting_approval: staff approve before "
        "the stores act; erasing: the stores act; completed; superseded: a newer dry run "
        "replaced this one before it was approved"))
    trigger: str
    requested_by: str
    created_at: datetime
    counted_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    completed_at: datetime | None = None
    superseded_by: UUID | None = None
    stores: dict[str, datetime | None] = Field(description="Each store asked and when it counted")
    items: list[SweepItem]
    totals: SweepTotals
