"""Login: password check without a timing hint about which e-mails exist, and a brake on
password guessing per e-mail address and client address (a stranger elsewhere cannot lock
the owner out)."""

from __future__ import annotations

import redis.asyncio as redis_asyncio
from starlette.concurrency import run_in_threadpool

from app.core.security import hash_password, verify_password
from app.services import user_service
from app.services.errors import TooManyRequestsError

MAX_FAILED_LOGINS = 10
FAILED_LOGIN_WINDOW_SEC = 15 * 60
_FAILED_KEY = "login:failed:{email}:{client}"

_dummy_hash: str | None = None


def _timing_dummy_hash() -> str:
    # Checked when the e-mail is unknown, so both answers take one bcrypt round.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("not-a-real-password")
    return _dummy_hash


async def authenticate(
    redis: redis_asyncio.Redis, email: str, password: str, *, client: str = "unknown"
) -> int | None:
    """The id of the active user with these credentials; None for a wrong e-mail, password or
    an inactive account (one answer for all). TooManyRequestsError after repeated failures."""
    key = _FAILED_KEY.format(email=email.lower(), client=client)
    failures = await redis.get(key)
    if failures is not None and int(failures) >= MAX_FAILED_LOGINS:
        raise TooManyRequestsError("Too many failed logins for this account; try again later")
    # The read gives its connection back before the password check, which takes a worker
    # thread ~0.25 s (more under load). Held through it, a burst of logins takes the whole
    # pool and turns and socket opens wait for a connection (`make bench`).
    user = await user_service.login_record(email)
    hashed = user.hashed_password if user is not None else _timing_dummy_hash()
    valid = await run_in_threadpool(verify_password, password, hashed)
    if user is None or not valid or not user.is_active:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, FAILED_LOGIN_WINDOW_SEC)
            await pipe.execute()
        return None
    await redis.delete(key)
    return user.id
