"""Interview model family, plus the transcript, evaluation and recording answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models import InterviewStatus, TranscriptRole
from app.schemas.common import RowId

QuestionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]


class InterviewCreate(BaseModel):
    job_id: RowId
    candidate_id: RowId
    questions: list[QuestionText] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="asked in this order; left out, the AI drafts them from the job",
    )
    duration_min: int = Field(default=30, ge=5, le=240)


class QuestionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order: int
    text: str


class InterviewPublic(BaseModel):
    id: int
    status: InterviewStatus
    job_id: int
    job_title: str
    candidate_id: int
    candidate_name: str
    duration_min: int
    questions: list[QuestionPublic] = Field(
        description="the planned questions; empty for the candidate, who meets them live"
    )
    question_count: int
    connected: bool = Field(description="a candidate socket is live now")
    created_by: int | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class TranscriptTurnPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int
    role: TranscriptRole
    content: str
    created_at: datetime


class QuestionScore(BaseModel):
    model_config = ConfigDict(extra="allow")

    question_id: int | None = None
    score: float | None = None
    comment: str | None = None


class EvaluationPending(BaseModel):
    status: Literal["pending"] = "pending"


class EvaluationDone(BaseModel):
    status: Literal["done"] = "done"
    overall_score: int | None
    recommendation: str | None
    summary: str | None
    question_scores: list[QuestionScore]
    method: str | None = Field(description="how the report was made (the model, or a fallback)")


class EvaluationFailed(BaseModel):
    status: Literal["failed"] = "failed"
    detail: str


EvaluationPublic = Annotated[
    EvaluationPending | EvaluationDone | EvaluationFailed, Field(discriminator="status")
]


class RecordingPublic(BaseModel):
    recording_id: int
    bytes: int
