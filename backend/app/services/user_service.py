"""Users: who may create or change whom, e-mail uniqueness, candidate profiles."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.concurrency import run_in_threadpool

from app.core.database import autocommit
from app.core.security import hash_password
from app.models import Candidate, Role, User
from app.schemas.user import UserCreate, UserUpdate
from app.services.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError

# What each role may hand out (and touch): super_admin anything, hr_manager only these.
_MANAGEABLE: dict[Role, frozenset[Role]] = {
    Role.SUPER_ADMIN: frozenset(Role),
    Role.HR_MANAGER: frozenset({Role.CANDIDATE, Role.INTERVIEWER}),
}
EMAIL_TAKEN = "A user with this email already exists"


def _check_may_manage(actor: User, role: Role) -> None:
    if role not in _MANAGEABLE.get(actor.role, frozenset()):
        raise ForbiddenError(f"Your role may not manage {role.value} accounts")


_BY_EMAIL = select(User).where(col(User.email) == bindparam("email"))
USERS: Any = User.__table__  # type: ignore[attr-defined]  # the table, for Core statements
# every login's read, built once (building a statement costs about as much as running it): the
# three values the password check needs as a plain row, not a User through an ORM session (the
# session and the ORM load were ~40 % of a login's server time, cProfile: docs/benchmarks.md)
_LOGIN = core_select(USERS.c.id, USERS.c.hashed_password, USERS.c.is_active).where(
    USERS.c.email == bindparam("email")
)


class LoginRecord(NamedTuple):
    id: int
    hashed_password: str
    is_active: bool


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(_BY_EMAIL, params={"email": email.lower()})).first()


async def login_record(email: str) -> LoginRecord | None:
    """What a login checks of the user with this e-mail (any case), on a connection of its own
    that is given back before the caller's password check."""
    async with autocommit() as conn:
        row = (await conn.execute(_LOGIN, {"email": email.lower()})).first()
    return None if row is None else LoginRecord(*row)


async def create_user(
    session: AsyncSession, data: UserCreate, actor: User, *, resume_text: str = ""
) -> tuple[User, Candidate | None]:
    """Add a user (and, for the `candidate` role, its candidate profile); the caller commits."""
    _check_may_manage(actor, data.role)
    if await get_by_email(session, data.email) is not None:
        raise ConflictError(EMAIL_TAKEN)
    user = User(
        email=data.email.lower(),
        full_name=data.full_name,
        hashed_password=await run_in_threadpool(hash_password, data.password),
        role=data.role,
    )
    session.add(user)
    try:
        await session.flush()  # the id, and a racing duplicate e-mail shows up here
    except IntegrityError as exc:
        await session.rollback()
        raise ConflictError(EMAIL_TAKEN) from exc
    candidate = None
    if user.role == Role.CANDIDATE:
        candidate = await _ensure_candidate_profile(session, user, resume_text)
    return user, candidate


async def _ensure_candidate_profile(
    session: AsyncSession, user: User, resume_text: str = ""
) -> Candidate:
    assert user.id is not None
    existing = (await session.exec(select(Candidate).where(Candidate.user_id == user.id))).first()
    if existing is not None:
        return existing
    candidate = Candidate(user_id=user.id, full_name=user.full_name, resume_text=resume_text)
    session.add(candidate)
    await session.flush()
    return candidate


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.exec(select(User).order_by(col(User.id)))).all())


async def update_user(session: AsyncSession, user_id: int, data: UserUpdate, actor: User) -> User:
    """Change activity, name or role of a user the actor may manage; the caller commits.

    A user who becomes a `candidate` gets a candidate profile; one who stops being one keeps
    it, so their past interviews still resolve.
    """
    user = await session.get(User, user_id)
    if user is None:
        raise NotFoundError("User not found")
    _check_may_manage(actor, user.role)
    is_self = user.id == actor.id
    if data.is_active is False and is_self:
        raise BadRequestError("You cannot deactivate yourself")
    if data.role is not None and data.role != user.role:
        if is_self:
            raise BadRequestError("You cannot change your own role")
        _check_may_manage(actor, data.role)
        user.role = data.role
    if data.is_active is not None:
        user.is_active = data.is_active
    if data.full_name is not None:
        user.full_name = data.full_name
    session.add(user)
    await session.flush()
    profile = (await session.exec(select(Candidate).where(Candidate.user_id == user.id))).first()
    if user.role == Role.CANDIDATE and profile is None:
        await _ensure_candidate_profile(session, user)
    elif profile is not None and data.full_name is not None:
        profile.full_name = data.full_name
        session.add(profile)
    return user
