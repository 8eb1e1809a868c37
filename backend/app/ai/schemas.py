"""Data passed into and out of the AI chains (re-exported by the chain modules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

Recommendation = Literal["strong_hire", "hire", "no_hire", "strong_no_hire"]


@dataclass
class InterviewContext:
    """What the interviewer knows when it phrases one turn."""

    candidate_name: str
    job_title: str
    job_description: str
    job_skills: list[str]
    resume_text: str
    questions: list[str]  # the planned questions, in order
    history: list[dict[str, str]]  # [{"role": "ai"|"candidate", "content": ...}] oldest first
    time_remaining_min: int


@dataclass
class TurnPlan:
    """What this turn must do; decided by the conductor, only phrased by the chain."""

    kind: Literal["greeting", "response", "closing"]
    question_index: int | None  # 0-based planned question this turn asks (None for closing)
    question_text: str | None  # that question's text (None for closing)
    is_follow_up: bool = False  # True: probe the thin answer to the SAME question once
    candidate_message: str | None = None  # the answer being replied to (None for greeting)
    closing_reason: Literal["all_answered", "time_up", "ended"] | None = None


@dataclass
class QuestionAnswers:
    question_id: int
    order: int
    text: str
    answers: list[str]


@dataclass
class EvaluationInput:
    candidate_name: str
    job_title: str
    job_description: str
    job_skills: list[str]
    resume_text: str
    questions: list[QuestionAnswers]
    transcript: list[dict[str, str]]  # [{"role": "ai"|"candidate", "content": ...}]


class QuestionScore(BaseModel):
    question_id: int
    score: int = Field(ge=0, le=10)
    comment: str


class EvaluationResult(BaseModel):
    overall_score: int = Field(ge=0, le=100)
    recommendation: Recommendation
    summary: str
    question_scores: list[QuestionScore]
    method: Literal["llm", "heuristic"]


def recommendation_for(overall_score: int) -> Recommendation:
    """The recommendation that an overall score (0-100) stands for when none was given."""
    if overall_score >= 80:
        return "strong_hire"
    if overall_score >= 60:
        return "hire"
    if overall_score >= 40:
        return "no_hire"
    return "strong_no_hire"
