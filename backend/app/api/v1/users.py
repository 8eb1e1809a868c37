"""POST /users, GET /users, PATCH /users/{id}: super_admin any role, hr_manager only
candidate and interviewer accounts."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.core.dependencies import ReaderUser, SessionDep, StaffUser
from app.schemas.common import PathId
from app.schemas.user import UserCreate, UserPublic, UserUpdate
from app.services import user_service

router = APIRouter(prefix="/users", tags=["users"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={403: {"description": "Your role may not create this role"}, 409: {}},
)
async def create_user(body: UserCreate, actor: StaffUser, session: SessionDep) -> UserPublic:
    """A `candidate` made here gets an (empty) candidate profile too."""
    user, _ = await user_service.create_user(session, body, actor)
    await session.commit()
    return UserPublic.model_validate(user)


@router.get("")
async def list_users(_: ReaderUser, session: SessionDep) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in await user_service.list_users(session)]


@router.patch(
    "/{user_id}",
    responses={400: {"description": "Deactivating yourself or changing your own role"}},
)
async def update_user(
    user_id: PathId, body: UserUpdate, actor: StaffUser, session: SessionDep
) -> UserPublic:
    user = await user_service.update_user(session, user_id, body, actor)
    await session.commit()
    return UserPublic.model_validate(user)
