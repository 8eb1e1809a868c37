"""Candidate model family: a candidate is a `candidate` user plus a profile row."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from app.schemas.common import EmailAddress, Name, Password

ResumeText = Annotated[str, StringConstraints(max_length=100_000)]


class CandidateBase(BaseModel):
    email: EmailAddress
    full_name: Name
    resume_text: ResumeText = ""


class CandidateCreate(CandidateBase):
    password: Password


class CandidatePublic(BaseModel):
    id: int
    user_id: int
    email: str
    full_name: str
    resume_text: str
    is_active: bool
    created_at: datetime
