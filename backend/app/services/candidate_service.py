"""Candidates: a `candidate` user and its profile, made and read together."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Candidate, Role, User
from app.schemas.candidate import CandidateCreate, CandidatePublic
from app.schemas.user import UserCreate
from app.services import user_service
from app.services.errors import NotFoundError


def to_public(candidate: Candidate, user: User) -> CandidatePublic:
    assert candidate.id is not None
    return CandidatePublic(
        id=candidate.id,
        user_id=candidate.user_id,
        email=user.email,
        full_name=candidate.full_name,
        resume_text=candidate.resume_text,
        is_active=user.is_active,
        created_at=candidate.created_at,
    )


async def create_candidate(
    session: AsyncSession, data: CandidateCreate, actor: User
) -> CandidatePublic:
    """The user (role `candidate`) and the profile in the caller's one transaction."""
    user, candidate = await user_service.create_user(
        session,
        UserCreate(
            email=data.email, full_name=data.full_name, password=data.password, role=Role.CANDIDATE
        ),
        actor,
        resume_text=data.resume_text,
    )
    assert candidate is not None
    return to_public(candidate, user)


async def list_candidates(session: AsyncSession) -> list[CandidatePublic]:
    rows = await session.exec(
        select(Candidate, User)
        .join(User, col(User.id) == col(Candidate.user_id))
        .order_by(col(Candidate.id).desc())
    )
    return [to_public(candidate, user) for candidate, user in rows.all()]


async def get_candidate(session: AsyncSession, candidate_id: int) -> CandidatePublic:
    candidate = await session.get(Candidate, candidate_id)
    user = await session.get(User, candidate.user_id) if candidate is not None else None
    if candidate is None or user is None:
        raise NotFoundError("Candidate not found")
    return to_public(candidate, user)
