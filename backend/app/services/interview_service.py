"""Interviews over REST: who may see or connect to which, creation (with AI-drafted questions),
cancellation, transcript and evaluation views. Services never commit; the route does."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis_asyncio
from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.ai.chains.question_chain import draft_questions
from app.ai.errors import AIUnavailableError
from app.core.config import Settings
from app.core.database import autocommit
from app.models import (
    Candidate,
    Evaluation,
    EvaluationStatus,
    Interview,
    InterviewQuestion,
    InterviewStatus,
    InterviewTranscript,
    Job,
    Role,
    User,
    utcnow,
)
from app.schemas.interview import (
    EvaluationDone,
    EvaluationFailed,
    EvaluationPending,
    InterviewCreate,
    InterviewPublic,
    QuestionPublic,
    QuestionScore,
)
from app.services.errors import ConflictError, ForbiddenError, NotFoundError, UnavailableError
from app.services.user_service import USERS
from app.services.ws_presence import connected_interviews

STAFF = frozenset({Role.SUPER_ADMIN, Role.HR_MANAGER})
READERS = frozenset({Role.SUPER_ADMIN, Role.HR_MANAGER, Role.INTERVIEWER})
FINISHED = frozenset(
    {InterviewStatus.COMPLETED, InterviewStatus.CANCELLED, InterviewStatus.EXPIRED}
)
ENDED = frozenset({InterviewStatus.COMPLETED, InterviewStatus.EXPIRED})
CANCELLABLE = frozenset({InterviewStatus.SCHEDULED, InterviewStatus.IN_PROGRESS})
DRAFT_FAILED = "Could not draft questions right now; try again or provide them"


# -- access ------------------------------------------------------------------------------


async def get_interview(session: AsyncSession, interview_id: int) -> Interview:
    interview = await session.get(Interview, interview_id)
    if interview is None:
        raise NotFoundError("Interview not found")
    return interview


def owns(role: Role, user_id: int | None, candidate_user_id: int | None) -> bool:
    """True when the user `user_id` with `role` is the candidate whose user id is
    `candidate_user_id`."""
    return role == Role.CANDIDATE and candidate_user_id is not None and candidate_user_id == user_id


async def is_owner(session: AsyncSession, user: User, interview: Interview) -> bool:
    """True when `user` is the interview's candidate."""
    if user.role != Role.CANDIDATE:
        return False  # no read needed
    candidate = await session.get(Candidate, interview.candidate_id)
    return owns(user.role, user.id, candidate.user_id if candidate is not None else None)


async def get_readable(session: AsyncSession, user: User, interview_id: int) -> Interview:
    """The interview if `user` may read it (its candidate, or staff and interviewers)."""
    interview = await get_interview(session, interview_id)
    if user.role in READERS or await is_owner(session, user, interview):
        return interview
    raise ForbiddenError("This interview is not yours")


async def get_owned(session: AsyncSession, user: User, interview_id: int) -> Interview:
    """The interview if `user` is its candidate (404 unknown, 403 anyone else)."""
    interview = await get_interview(session, interview_id)
    if not await is_owner(session, user, interview):
        raise ForbiddenError("Only the interview's candidate may do this")
    return interview


@dataclass(frozen=True, slots=True)
class ConnectLookup:
    """What a socket's opening checks read: the user's role (None when the user is unknown or
    inactive), the interview's id and status (None when it is unknown) and the user id of the
    interview's candidate."""

    user_id: int
    role: Role | None
    interview_id: int | None
    status: InterviewStatus | None
    candidate_user_id: int | None

    def owned(self) -> bool:
        """True when the user is the interview's candidate."""
        return self.role is not None and owns(self.role, self.user_id, self.candidate_user_id)


_INTERVIEWS: Any = Interview.__table__  # type: ignore[attr-defined]
_CANDIDATES: Any = Candidate.__table__  # type: ignore[attr-defined]
# Built once, in Core: on every socket's open (the ticket and the handshake), where building the
# statement, its cache key and the ORM's row objects cost ~3x running it (docs/benchmarks.md).
# No interview id binds NULL, which matches no interview.
_CONNECT_LOOKUP = (
    core_select(
        USERS.c.role,
        USERS.c.is_active,
        _INTERVIEWS.c.id,
        _INTERVIEWS.c.status,
        _CANDIDATES.c.user_id,
    )
    .select_from(USERS)
    .outerjoin(_INTERVIEWS, _INTERVIEWS.c.id == bindparam("interview_id"))
    .outerjoin(_CANDIDATES, _CANDIDATES.c.id == _INTERVIEWS.c.candidate_id)
    .where(USERS.c.id == bindparam("user_id"))
)


async def connect_lookup(user_id: int, interview_id: int | None) -> ConnectLookup:
    """The user, the interview and whose it is, in one statement (one round trip on
    PostgreSQL, with no transaction around it): the ticket request and the handshake read
    them on every socket's open, and under load each round trip is a loop iteration."""
    async with autocommit() as conn:
        row = (
            await conn.execute(_CONNECT_LOOKUP, {"user_id": user_id, "interview_id": interview_id})
        ).first()
    if row is None:
        return ConnectLookup(user_id, None, None, None, None)
    role, active, found_id, status, candidate_user_id = row
    return ConnectLookup(
        user_id,
        Role(role) if active else None,
        found_id,
        InterviewStatus(status) if status is not None else None,
        candidate_user_id,
    )


def check_can_connect(found: ConnectLookup) -> int:
    """The interview's id, after the ticket request's checks past the user's (401), in the
    handshake's order: exists (404), access (403), state (409: completed, cancelled or
    expired).

    Interviewers pass too: they may use the read-only observe socket (API.md), and the
    socket itself refuses them on the candidate and voice endpoints.
    """
    assert found.role is not None
    if found.interview_id is None or found.status is None:
        raise NotFoundError("Interview not found")
    if found.role not in READERS and not found.owned():
        raise ForbiddenError("This interview is not yours")
    if found.status in FINISHED:
        raise ConflictError(f"Interview is {found.status.value}")
    return found.interview_id


# -- creation ----------------------------------------------------------------------------


async def create_interview(
    session: AsyncSession, data: InterviewCreate, actor: User, settings: Settings
) -> Interview:
    """Add an interview and its questions (drafted by the AI when none are given)."""
    job = await session.get(Job, data.job_id)
    if job is None:
        raise NotFoundError("Job not found")
    if await session.get(Candidate, data.candidate_id) is None:
        raise NotFoundError("Candidate not found")
    questions = data.questions or await _draft_questions(job, settings.DEFAULT_QUESTION_COUNT)
    interview = Interview(
        job_id=data.job_id,
        candidate_id=data.candidate_id,
        duration_min=data.duration_min,
        status=InterviewStatus.SCHEDULED,
        created_by=actor.id,
    )
    session.add(interview)
    await session.flush()
    assert interview.id is not None
    for order, text in enumerate(questions):
        session.add(InterviewQuestion(interview_id=interview.id, order=order, text=text))
    await session.flush()
    return interview


async def _draft_questions(job: Job, count: int) -> list[str]:
    try:
        drafted = await draft_questions(job.title, job.description, list(job.skills), count)
    except AIUnavailableError as exc:
        raise UnavailableError(DRAFT_FAILED) from exc
    questions = [q.strip() for q in drafted if q and q.strip()]
    if not questions:
        raise UnavailableError(DRAFT_FAILED)
    return questions


# -- reading -----------------------------------------------------------------------------


async def list_for(session: AsyncSession, user: User) -> list[Interview]:
    """Newest first: all of them for staff and interviewers, their own for a candidate."""
    query = select(Interview).order_by(col(Interview.created_at).desc(), col(Interview.id).desc())
    if user.role not in READERS:
        query = query.join(Candidate, col(Candidate.id) == col(Interview.candidate_id)).where(
            Candidate.user_id == user.id
        )
    return list((await session.exec(query)).all())


async def to_public(
    session: AsyncSession,
    redis: redis_asyncio.Redis,
    interviews: Sequence[Interview],
    viewer: User,
) -> list[InterviewPublic]:
    """The wire form of `interviews`, loaded in a fixed number of queries.

    A candidate sees how many questions there are but not their text: they meet them live.
    """
    ids = [i.id for i in interviews if i.id is not None]
    if not ids:
        return []
    questions: dict[int, list[InterviewQuestion]] = defaultdict(list)
    rows = await session.exec(
        select(InterviewQuestion)
        .where(col(InterviewQuestion.interview_id).in_(ids))
        .order_by(col(InterviewQuestion.interview_id), col(InterviewQuestion.order))
    )
    for q in rows.all():
        questions[q.interview_id].append(q)
    job_ids = {i.job_id for i in interviews}
    job_rows = await session.exec(select(Job).where(col(Job.id).in_(job_ids)))
    jobs = {j.id: j for j in job_rows.all()}
    cand_ids = {i.candidate_id for i in interviews}
    cand_rows = await session.exec(select(Candidate).where(col(Candidate.id).in_(cand_ids)))
    candidates = {c.id: c for c in cand_rows.all()}
    live = await connected_interviews(redis, ids)
    show_questions = viewer.role in READERS
    result = []
    for interview in interviews:
        assert interview.id is not None
        planned = questions[interview.id]
        result.append(
            InterviewPublic(
                id=interview.id,
                status=interview.status,
                job_id=interview.job_id,
                job_title=jobs[interview.job_id].title,
                candidate_id=interview.candidate_id,
                candidate_name=candidates[interview.candidate_id].full_name,
                duration_min=interview.duration_min,
                questions=[QuestionPublic.model_validate(q) for q in planned]
                if show_questions
                else [],
                question_count=len(planned),
                connected=interview.id in live,
                created_by=interview.created_by,
                created_at=interview.created_at,
                started_at=interview.started_at,
                ended_at=interview.ended_at,
            )
        )
    return result


async def transcript(session: AsyncSession, interview_id: int) -> list[InterviewTranscript]:
    """The saved turns in `seq` order (each turn is one row: unique per interview and seq)."""
    rows = await session.exec(
        select(InterviewTranscript)
        .where(InterviewTranscript.interview_id == interview_id)
        .order_by(col(InterviewTranscript.seq), col(InterviewTranscript.id))
    )
    return list(rows.all())


# -- changes -----------------------------------------------------------------------------


async def cancel(session: AsyncSession, interview_id: int) -> Interview:
    """Scheduled or running -> cancelled (ended now); anything else is a 409."""
    interview = await get_interview(session, interview_id)
    if interview.status not in CANCELLABLE:
        raise ConflictError(f"Interview is already {interview.status.value}")
    interview.status = InterviewStatus.CANCELLED
    interview.ended_at = utcnow()
    session.add(interview)
    await session.flush()
    return interview


# -- evaluation --------------------------------------------------------------------------


async def evaluation_view(
    session: AsyncSession, interview_id: int
) -> EvaluationPending | EvaluationDone | EvaluationFailed:
    """The evaluation's state; NotFoundError until the interview has ended and one exists."""
    interview = await get_interview(session, interview_id)
    evaluation = (
        await session.exec(select(Evaluation).where(Evaluation.interview_id == interview_id))
    ).first()
    if interview.status not in ENDED or evaluation is None:
        raise NotFoundError("No evaluation yet: the interview has not ended")
    if evaluation.status == EvaluationStatus.PENDING:
        return EvaluationPending()
    if evaluation.status == EvaluationStatus.FAILED:
        return EvaluationFailed(detail=evaluation.detail or "The evaluation could not be made")
    return EvaluationDone(
        overall_score=evaluation.overall_score,
        recommendation=evaluation.recommendation,
        summary=evaluation.summary,
        question_scores=[QuestionScore.model_validate(s) for s in evaluation.question_scores],
        method=evaluation.method,
    )


async def check_evaluable(session: AsyncSession, interview_id: int) -> Interview:
    """The interview if an evaluation may be (re)run for it: 404 unknown, 409 not completed."""
    interview = await get_interview(session, interview_id)
    if interview.status != InterviewStatus.COMPLETED:
        raise ConflictError(
            f"Only a completed interview can be evaluated (this one is {interview.status.value})"
        )
    return interview
