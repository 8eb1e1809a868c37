"""POST /candidates, GET /candidates, GET /candidates/{id}."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.core.dependencies import ReaderUser, SessionDep, StaffUser
from app.schemas.candidate import CandidateCreate, CandidatePublic
from app.schemas.common import PathId
from app.services import candidate_service

router = APIRouter(prefix="/candidates", tags=["candidates"])


@router.post("", status_code=status.HTTP_201_CREATED, responses={409: {}})
async def create_candidate(
    body: CandidateCreate, actor: StaffUser, session: SessionDep
) -> CandidatePublic:
    """Makes the candidate's login (role `candidate`) and profile together."""
    candidate = await candidate_service.create_candidate(session, body, actor)
    await session.commit()
    return candidate


@router.get("")
async def list_candidates(_: ReaderUser, session: SessionDep) -> list[CandidatePublic]:
    return await candidate_service.list_candidates(session)


@router.get("/{candidate_id}")
async def get_candidate(
    candidate_id: PathId, _: ReaderUser, session: SessionDep
) -> CandidatePublic:
    return await candidate_service.get_candidate(session, candidate_id)
