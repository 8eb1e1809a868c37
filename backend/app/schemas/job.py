"""Job model family."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Skill = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class JobBase(BaseModel):
    title: Title
    description: Annotated[str, StringConstraints(max_length=20_000)] = ""
    skills: list[Skill] = Field(default_factory=list, max_length=50)


class JobCreate(JobBase):
    pass


class JobPublic(JobBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_by: int | None
    created_at: datetime
