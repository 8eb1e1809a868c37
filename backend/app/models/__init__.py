"""SQLModel tables. Import from here so every table is registered on the metadata."""

from app.models.base import MAX_ID, UTCDateTime, utcnow
from app.models.tables import (
    Candidate,
    Evaluation,
    EvaluationStatus,
    Interview,
    InterviewAnswer,
    InterviewQuestion,
    InterviewStatus,
    InterviewTranscript,
    Job,
    Recording,
    Role,
    TranscriptRole,
    User,
)

__all__ = [
    "MAX_ID",
    "Candidate",
    "Evaluation",
    "EvaluationStatus",
    "Interview",
    "InterviewAnswer",
    "InterviewQuestion",
    "InterviewStatus",
    "InterviewTranscript",
    "Job",
    "Recording",
    "Role",
    "TranscriptRole",
    "UTCDateTime",
    "User",
    "utcnow",
]
