"""The live interview session in Redis (`interview:session:{id}`, 2 h TTL).

It caches what every turn needs (questions, position, follow-up use, history, timers, the
context the AI is given). PostgreSQL stays the truth: when the key is gone (expiry, Redis
restart, flush) the session is rebuilt from the saved rows, so losing Redis never loses an
interview.
"""

from __future__ import annotations

import base64
import logging
import math
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, func
from sqlalchemy import select as core_select
from sqlmodel import col, select

from app.core.config import get_settings
from app.core.database import autocommit, autocommit_session
from app.core.redis import get_redis
from app.models import (
    Candidate,
    Interview,
    InterviewQuestion,
    InterviewStatus,
    InterviewTranscript,
    Job,
    TranscriptRole,
    utcnow,
)
from app.services.turn_saves import Transcript, TurnRow, saved_turns

logger = logging.getLogger("app.session")

# With an in-process Redis (memory://) the cached session is this process's memory for every
# open interview: zlib (level 1) in base64 (the client decodes replies as text) takes the
# session of a just-greeted interview from ~3.6 to ~2 KB (`make bench`: memory per idle
# socket), at ~20 µs a save and ~5 µs a load. A 4 KiB window and memLevel 4 (zlib's defaults
# are 32 KiB and 8): the same size for a session of a few KiB, and zlib sets up and clears a
# fraction of the state it otherwise does on every save (~2 % of an answer's instructions under
# callgrind, docs/benchmarks.md); any zlib reader (`decompress`'s default window) reads it.
COMPRESSED = b"z:"
_ZLIB_WBITS, _ZLIB_MEM_LEVEL = 12, 4


def session_key(interview_id: int) -> str:
    return f"interview:session:{interview_id}"


def history_entry(row: Transcript) -> dict[str, Any]:
    """A transcript row as PROTOCOL.md's conversation_history entry."""
    entry: dict[str, Any] = {
        "id": row.id,
        "seq": row.seq,
        "role": row.role.value,
        "content": row.content,
        "created_at": row.created_at.isoformat(),
    }
    if row.role == TranscriptRole.CANDIDATE:
        entry["client_msg_id"] = row.client_msg_id
    else:
        entry["stream_id"] = row.stream_id
    return entry


@dataclass
class InterviewSession:
    interview_id: int
    status: str
    duration_min: int
    started_at: str | None
    questions: list[dict[str, Any]]  # [{id, order, text}]
    question_index: int = 0  # the planned question being asked now (0-based)
    follow_up_used: bool = False  # the current question already had its one follow-up
    greeted: bool = False
    closed: bool = False
    candidate_name: str = ""
    job_title: str = ""
    job_description: str = ""
    job_skills: list[str] = field(default_factory=list)
    resume_text: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_questions(self) -> int:
        return len(self.questions)

    def remaining_seconds(self, now: datetime | None = None) -> float:
        if not self.started_at:
            return float(self.duration_min * 60)
        started = datetime.fromisoformat(self.started_at)
        elapsed = ((now or utcnow()) - started).total_seconds()
        return self.duration_min * 60 - elapsed

    def time_remaining_min(self) -> int:
        return max(0, math.ceil(self.remaining_seconds() / 60))

    def time_is_up(self) -> bool:
        return self.started_at is not None and self.remaining_seconds() <= 0

    @property
    def question_number(self) -> int:
        return min(self.question_index + 1, max(self.total_questions, 1))

    def to_redis(self) -> bytes:
        """The cached form: JSON, compressed when Redis is in this process (memory://)."""
        raw = orjson.dumps(self)  # orjson reads dataclasses natively (asdict: ~10x the CPU)
        if not get_settings().redis_in_process:
            return raw  # a Redis server's memory, not this process's: CPU is the scarcer here
        packer = zlib.compressobj(1, zlib.DEFLATED, _ZLIB_WBITS, _ZLIB_MEM_LEVEL)
        return COMPRESSED + base64.b64encode(packer.compress(raw) + packer.flush())

    @classmethod
    def from_redis(cls, raw: str | bytes) -> InterviewSession:
        """Either form (JSON starts with `{`): a process that changed mode reads both."""
        prefix = COMPRESSED.decode() if isinstance(raw, str) else COMPRESSED
        if raw.startswith(prefix):  # type: ignore[arg-type]
            raw = zlib.decompress(base64.b64decode(raw[len(prefix) :], validate=True))
        return cls(**orjson.loads(raw))  # JSON as it came: no copy of a whole session


# The reads of a socket's open, built once with their parameters bound at run time: building a
# statement and its cache key cost about as much as running it (docs/benchmarks.md).
_MAX_SEQ = core_select(func.max(col(InterviewTranscript.seq))).where(
    col(InterviewTranscript.interview_id) == bindparam("id")
)
# the interview with its job and candidate in one query
_RECORD = (
    select(Interview, Job, Candidate)
    .outerjoin(Job, col(Job.id) == col(Interview.job_id))
    .outerjoin(Candidate, col(Candidate.id) == col(Interview.candidate_id))
    .where(col(Interview.id) == bindparam("id"))
)
_QUESTIONS = (
    select(InterviewQuestion)
    .where(col(InterviewQuestion.interview_id) == bindparam("id"))
    .order_by(col(InterviewQuestion.order))
)
# A session's rebuild (every interview's first open) reads plain column values, not ORM
# objects: loading the interview, its job, its candidate and an object per question and per
# transcript row through the ORM cost ~15 % of a first `start`'s profiled time (cProfile,
# docs/benchmarks.md), for values the session copies out at once.
_SESSION_RECORD: Any = (
    core_select(
        col(Interview.status),
        col(Interview.duration_min),
        col(Interview.started_at),
        col(Job.id).label("job_id"),
        col(Job.title),
        col(Job.description),
        col(Job.skills),
        col(Candidate.id).label("candidate_id"),
        col(Candidate.full_name),
        col(Candidate.resume_text),
    )
    .select_from(Interview)
    .outerjoin(Job, col(Job.id) == col(Interview.job_id))
    .outerjoin(Candidate, col(Candidate.id) == col(Interview.candidate_id))
    .where(col(Interview.id) == bindparam("id"))
)
_SESSION_QUESTIONS = (
    core_select(
        col(InterviewQuestion.id), col(InterviewQuestion.order), col(InterviewQuestion.text)
    )
    .where(col(InterviewQuestion.interview_id) == bindparam("id"))
    .order_by(col(InterviewQuestion.order))
)


async def max_saved_seq(interview_id: int) -> int:
    """The transcript's highest seq (0 for none): a Core read, no ORM session (every
    interview's first start reads it, docs/benchmarks.md)."""
    async with autocommit() as conn:
        value = (await conn.execute(_MAX_SEQ, {"id": interview_id})).scalar()
    return int(value or 0)


@dataclass
class InterviewRecord:
    """An interview with everything its evaluation reads about it."""

    interview: Interview
    job: Job | None
    candidate: Candidate | None
    questions: list[InterviewQuestion]
    rows: list[TurnRow]  # the transcript, in seq order


async def load_record(interview_id: int) -> InterviewRecord | None:
    async with autocommit_session() as db:
        found = (await db.exec(_RECORD, params={"id": interview_id})).first()
        if found is None:
            return None
        interview, job, candidate = found
        questions = await db.exec(_QUESTIONS, params={"id": interview_id})
        return InterviewRecord(
            interview=interview,
            job=job,
            candidate=candidate,
            questions=list(questions.all()),
            rows=await saved_turns(await db.connection(), interview_id),
        )


async def rebuild_session(interview_id: int) -> InterviewSession | None:
    """Derive the session from PostgreSQL alone; None when the interview does not exist."""
    params = {"id": interview_id}
    async with autocommit() as conn:
        found = (await conn.execute(_SESSION_RECORD, params)).first()
        if found is None:
            return None
        questions = (await conn.execute(_SESSION_QUESTIONS, params)).all()
        rows = await saved_turns(conn, interview_id)
    has_job, has_candidate = found.job_id is not None, found.candidate_id is not None
    session = InterviewSession(
        interview_id=interview_id,
        status=InterviewStatus(found.status).value,
        duration_min=found.duration_min,
        started_at=found.started_at.isoformat() if found.started_at else None,
        questions=[{"id": q.id, "order": q.order, "text": q.text} for q in questions],
        candidate_name=found.full_name if has_candidate else "",
        job_title=found.title if has_job else "",
        job_description=found.description if has_job else "",
        job_skills=list(found.skills) if has_job else [],
        resume_text=found.resume_text if has_candidate else "",
        history=[history_entry(r) for r in rows],
    )
    ai_rows = [r for r in rows if r.role == TranscriptRole.AI]
    if ai_rows:
        last = ai_rows[-1]
        session.greeted = True
        session.closed = last.kind == "closing"
        session.question_index = last.question_index if last.question_index is not None else 0
        session.follow_up_used = last.is_follow_up
    return session


async def load_session(interview_id: int, *, rebuild: bool = True) -> InterviewSession | None:
    """The cached session, rebuilt from the database when Redis lost it."""
    raw = await get_redis().get(session_key(interview_id))
    if raw:
        return InterviewSession.from_redis(raw)
    if not rebuild:
        return None
    session = await rebuild_session(interview_id)
    if session is not None:
        logger.info("interview %s: session rebuilt from the database", interview_id)
        await save_session(session)
    return session


def _session_write(session: InterviewSession) -> tuple[str, bytes, int]:
    return session_key(session.interview_id), session.to_redis(), get_settings().SESSION_TTL_SEC


async def save_session(session: InterviewSession) -> None:
    key, value, ttl = _session_write(session)
    await get_redis().set(key, value, ex=ttl)


def queue_save_session(pipe: Any, session: InterviewSession) -> None:
    """`save_session` as a command of the caller's pipeline."""
    key, value, ttl = _session_write(session)
    pipe.set(key, value, ex=ttl)


async def drop_session(interview_id: int) -> None:
    await get_redis().delete(session_key(interview_id))


def is_open_status(status: str) -> bool:
    return status in (InterviewStatus.SCHEDULED.value, InterviewStatus.IN_PROGRESS.value)
