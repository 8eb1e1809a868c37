"""The tables. Schema changes go through an Alembic migration, never create_all."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    HR_MANAGER = "hr_manager"
    INTERVIEWER = "interviewer"
    CANDIDATE = "candidate"


class InterviewStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class TranscriptRole(StrEnum):
    AI = "ai"
    CANDIDATE = "candidate"


class EvaluationStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


def _enum(enum_cls: type[StrEnum], name: str) -> Any:
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def _ts(nullable: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    full_name: str = Field(max_length=200)
    hashed_password: str = Field(max_length=200)
    role: Role = Field(sa_column=Column(_enum(Role, "role"), nullable=False))
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Candidate(SQLModel, table=True):
    __tablename__ = "candidates"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", unique=True, index=True)
    full_name: str = Field(max_length=200)
    resume_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Job(SQLModel, table=True):
    __tablename__ = "jobs"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Interview(SQLModel, table=True):
    __tablename__ = "interviews"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="jobs.id", index=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    status: InterviewStatus = Field(
        default=InterviewStatus.SCHEDULED,
        sa_column=Column(_enum(InterviewStatus, "interview_status"), nullable=False, index=True),
    )
    duration_min: int = Field(default=30)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    started_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class InterviewQuestion(SQLModel, table=True):
    __tablename__ = "interview_questions"
    __table_args__ = (UniqueConstraint("interview_id", "order", name="uq_question_order"),)

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interviews.id", index=True)
    order: int
    text: str = Field(sa_column=Column(Text, nullable=False))


class InterviewTranscript(SQLModel, table=True):
    """One saved turn. `seq` is that of the event that made it durable (PROTOCOL.md)."""

    __tablename__ = "interview_transcripts"
    __table_args__ = (
        UniqueConstraint("interview_id", "seq", name="uq_transcript_seq"),
        UniqueConstraint("interview_id", "client_msg_id", name="uq_transcript_client_msg"),
        UniqueConstraint("interview_id", "stream_id", name="uq_transcript_stream"),
        Index("ix_transcript_interview_seq", "interview_id", "seq"),
        # exactly once, even when two processes race (a recovered turn vs. a slow original):
        # one AI reply per candidate turn, one greeting and one closing per interview
        Index("uq_transcript_reply_to", "reply_to_id", unique=True),
        Index(
            "uq_transcript_opening_closing",
            "interview_id",
            "kind",
            unique=True,
            postgresql_where=text("kind IN ('greeting', 'closing')"),
            sqlite_where=text("kind IN ('greeting', 'closing')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interviews.id")
    seq: int
    role: TranscriptRole = Field(
        sa_column=Column(_enum(TranscriptRole, "transcript_role"), nullable=False)
    )
    content: str = Field(sa_column=Column(Text, nullable=False))
    client_msg_id: str | None = Field(default=None, max_length=128)
    # AI turns: the stream that produced it, its kind, and the candidate turn it answers.
    stream_id: str | None = Field(default=None, max_length=64)
    kind: str | None = Field(default=None, max_length=16)
    reply_to_id: int | None = Field(default=None, foreign_key="interview_transcripts.id")
    question_index: int | None = Field(default=None)
    is_follow_up: bool = Field(default=False)
    answer_mode: str = Field(default="text", max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class InterviewAnswer(SQLModel, table=True):
    """A candidate turn filed under the planned question it answers (for evaluation)."""

    __tablename__ = "interview_answers"

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interviews.id", index=True)
    question_id: int | None = Field(default=None, foreign_key="interview_questions.id")
    transcript_id: int = Field(foreign_key="interview_transcripts.id", unique=True)
    content: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Evaluation(SQLModel, table=True):
    __tablename__ = "evaluations"

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interviews.id", unique=True)
    status: EvaluationStatus = Field(
        default=EvaluationStatus.PENDING,
        sa_column=Column(_enum(EvaluationStatus, "evaluation_status"), nullable=False),
    )
    method: str | None = Field(default=None, max_length=16)
    overall_score: int | None = None
    recommendation: str | None = Field(default=None, max_length=32)
    summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    question_scores: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attempts: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Recording(SQLModel, table=True):
    __tablename__ = "recordings"

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interviews.id", index=True)
    path: str = Field(max_length=500)
    bytes: int
    content_type: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
