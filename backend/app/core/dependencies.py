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
_UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="Could not validate credentials",
    headers={"WWW-Authenticate": "Bearer"},
)


async def user_from_token(session: AsyncSession, token: str) -> User | None:
    """The active user a valid access token names; None for any failure."""
    try:
        user_id = decode_access_token(token)
    except InvalidTokenError:
        return None
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return user


async def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _UNAUTHORIZED
    user = await user_from_token(session, credentials.credentials)
    if user is None:
        raise _UNAUTHORIZED
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
