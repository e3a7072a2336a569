from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from privacy_kit.protocol import RetentionAction, RetentionClock, RetentionRule

RuleSource = Literal["declared", "override", "policy"]


class RetentionRuleUpdate(RetentionRule):
    """An override of a store's default rule by an operator or the DPO."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"period": "P180D", "clock": "last_activity", "action": "destroy",
         "auto_approve": False}]})

    auto_approve: bool = Field(
        default=False,
        description="A sweep acts on this category right after its dry run, without approval.")


class RetentionRuleRead(BaseModel):
    """The rule that applies to one category of one store, and where it comes from."""

    store: str = Field(description="The store, or '*' for a policy term that applies to any "
                                   "store's category of this name without a rule of its own")
    category: str
    personal: bool | None = Field(description="Whether the store declared personal data "
                                              "(null for a policy term)")
    description: str = Field(description="The store's rule in words")
    period: str | None = None
    clock: RetentionClock | None = None
    action: RetentionAction | None = None
    auto_approve: bool = False
    source: RuleSource | None = Field(
        default=None, description="declared: the store's default; override: set by staff; "
                                  "policy: a seeded policy term")
    needs_a_rule: bool = Field(description="Personal data without any rule (O15)")
    declared: RetentionRule | None = Field(default=None, description="The store's own default")
    changed_by: str | None = None
    changed_at: datetime | None = None

    @property
    def rule(self) -> RetentionRule | None:
        if self.period is None or self.clock is None or self.action is None:
            return None
        return RetentionRule(period=self.period, clock=self.clock, action=self.action)


class RetentionRuleChange(BaseModel):
    change: Literal["declared", "override", "revert", "policy"]
    period: str | None
    clock: str | None
    action: str | None
    auto_approve: bool | None
    changed_by: str
    changed_at: datetime


class RetentionRuleDetail(RetentionRuleRead):
    changes: list[RetentionRuleChange] = Field(description="Every change, oldest first")
