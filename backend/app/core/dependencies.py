"""Typed FastAPI dependencies: SessionDep, RedisDep, CurrentUser, require_role(...)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import redis.asyncio as redis_asyncio
from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.database import get_session
from app.core.redis import get_redis
from app.core.security import InvalidTokenError, decode_access_token
from app.models import Role, User

SessionDep = Annotated[AsyncSession, Depends(get_session)]
RedisDep = Annotated[redis_asyncio.Redis, Depends(get_redis)]

_bearer = HTTPBearer(auto_error=False)
UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="Could not validate credentials",
    headers={"WWW-Authenticate": "Bearer"},
)


def token_user_id(token: str) -> int | None:
    """The user id a valid access token names (no database read); None for any failure."""
    try:
        return decode_access_token(token)
    except InvalidTokenError:
        return None


async def get_token_user_id(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> int:
    """The bearer token's user id, not yet checked against the database (the route reads
    the user itself, with what else it needs); 401 for a missing or invalid token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UNAUTHORIZED
    user_id = token_user_id(credentials.credentials)
    if user_id is None:
        raise UNAUTHORIZED
    return user_id


TokenUserId = Annotated[int, Depends(get_token_user_id)]


async def get_current_user(session: SessionDep, user_id: TokenUserId) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise UNAUTHORIZED
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets only users with one of `roles` through (403 otherwise)."""
    allowed = frozenset(roles)

    async def _check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN, detail="Not allowed for your role"
            )
        return user

    return _check


STAFF_ROLES = (Role.SUPER_ADMIN, Role.HR_MANAGER)
READER_ROLES = (Role.SUPER_ADMIN, Role.HR_MANAGER, Role.INTERVIEWER)
StaffUser = Annotated[User, Depends(require_role(*STAFF_ROLES))]
ReaderUser = Annotated[User, Depends(require_role(*READER_ROLES))]
