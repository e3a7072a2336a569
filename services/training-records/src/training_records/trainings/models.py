from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ModuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)


class TrainingCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "title": "AVG voor beginners", "description": "Privacy basics for every employee",
            "modules": [{"title": "What is personal data?"}, {"title": "Your rights"}],
        }]},
    )
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    modules: list[ModuleCreate] = Field(min_length=1, max_length=200)


class ModuleRead(BaseModel):
    id: uuid.UUID
    position: int
    title: str


class TrainingRead(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    modules: list[ModuleRead]
    created_at: datetime


class ModuleBenchmark(BaseModel):
    """Anonymous progress of one module: current and anonymised participants together."""

    module_id: uuid.UUID
    participants: int = Field(description="People who started the module.")
    completed: int
    mean_time_spent_s: float | None = Field(description="Absent while the group is too small.")


class Benchmark(BaseModel):
    """Anonymous: counts over current and erased participants, never one person's score."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "training_id": "8d0f6a4c-0c5e-4d8e-9a51-7e3c2b1a0f99", "participants": 42,
        "mean_score": 78.5, "pass_rate": 0.86, "suppressed": False, "minimum_group": 5,
    }]})

    training_id: uuid.UUID
    participants: int = Field(description="People with a result (their latest counts).")
    mean_score: float | None = Field(description="Absent while the group is too small.")
    pass_rate: float | None
    suppressed: bool
    minimum_group: int
    modules: list[ModuleBenchmark] = []
