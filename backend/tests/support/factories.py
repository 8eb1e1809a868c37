"""Rows for tests, made through the real models (passwords hashed, tokens signed)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.security import create_access_token, hash_password
from app.models import (
    Candidate,
    Interview,
    InterviewQuestion,
    InterviewStatus,
    Job,
    Role,
    User,
)

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery"
_HASH_CACHE: dict[str, str] = {}


def _hashed(password: str) -> str:
    # bcrypt is slow on purpose; tests reuse one hash per password
    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = hash_password(password)
    return _HASH_CACHE[password]


async def make_user(
    session: AsyncSession,
    role: Role = Role.HR_MANAGER,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    full_name: str | None = None,
    is_active: bool = True,
) -> User:
    n = next(_counter)
    user = User(
        email=email or f"{role.value}{n}@example.com",
        full_name=full_name or f"{role.value.replace('_', ' ').title()} {n}",
        hashed_password=_hashed(password),
        role=role,
        is_active=is_active,
    )
    session.add(user)
    await session.commit()
    await session.refresh(user)
    return user


def auth(user: User) -> dict[str, str]:
    assert user.id is not None
    return {"Authorization": f"Bearer {create_access_token(user.id)}"}


def token(user: User) -> str:
    assert user.id is not None
    return create_access_token(user.id)


async def make_candidate(
    session: AsyncSession, *, full_name: str = "Ada Lovelace", resume_text: str | None = None
) -> tuple[User, Candidate]:
    user = await make_user(session, Role.CANDIDATE, full_name=full_name)
    candidate = Candidate(
        user_id=user.id,  # type: ignore[arg-type]
        full_name=full_name,
        resume_text=resume_text
        if resume_text is not None
        else "Backend engineer, 6 years of Python and PostgreSQL; led a payments migration.",
    )
    session.add(candidate)
    await session.commit()
    await session.refresh(candidate)
    return user, candidate


async def make_job(session: AsyncSession, *, title: str = "Backend Engineer") -> Job:
    job = Job(
        title=title,
        description="Build and run our Python services.",
        skills=["python", "postgresql", "redis"],
    )
    session.add(job)
    await session.commit()
    await session.refresh(job)
    return job


DEFAULT_QUESTIONS = [
    "Tell me about a system you designed end to end.",
    "How do you keep a PostgreSQL database fast as it grows?",
    "Describe a production incident you handled and what you changed afterwards.",
]


@dataclass
class InterviewSetup:
    interview: Interview
    questions: list[InterviewQuestion]
    candidate_user: User
    candidate: Candidate
    job: Job


async def make_interview(
    session: AsyncSession,
    *,
    questions: list[str] | None = None,
    duration_min: int = 30,
    status: InterviewStatus = InterviewStatus.SCHEDULED,
    candidate_name: str = "Ada Lovelace",
) -> InterviewSetup:
    cand_user, candidate = await make_candidate(session, full_name=candidate_name)
    job = await make_job(session)
    interview = Interview(
        job_id=job.id,  # type: ignore[arg-type]
        candidate_id=candidate.id,  # type: ignore[arg-type]
        duration_min=duration_min,
        status=status,
    )
    session.add(interview)
    await session.commit()
    await session.refresh(interview)
    rows = []
    for i, text in enumerate(questions if questions is not None else DEFAULT_QUESTIONS):
        row = InterviewQuestion(interview_id=interview.id, order=i, text=text)  # type: ignore[arg-type]
        session.add(row)
        rows.append(row)
    await session.commit()
    for row in rows:
        await session.refresh(row)
    return InterviewSetup(interview, rows, cand_user, candidate, job)
