"""Passwords (bcrypt), access tokens (JWT HS256 with python-jose) and WebSocket tickets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import bcrypt
import orjson
from jose import JWTError, jwt

from app.core.config import Settings, get_settings
from app.core.redis import get_redis

ALGORITHM = "HS256"
TOKEN_TYPE_ACCESS = "access"  # noqa: S105 (a claim value, not a secret)
TICKET_PREFIX = "ws:ticket:"
_BCRYPT_MAX = 72


class InvalidTokenError(Exception):
    """The token is malformed, expired, badly signed or of the wrong type."""


_signing_key: str | None = None


def signing_key(settings: Settings | None = None) -> str:
    global _signing_key
    if _signing_key is None:
        _signing_key = (settings or get_settings()).resolve_secret_key()
    return _signing_key


def reset_signing_key() -> None:
    global _signing_key
    _signing_key = None


def hash_password(password: str) -> str:
    raw = password.encode()[:_BCRYPT_MAX]
    return bcrypt.hashpw(raw, bcrypt.gensalt()).decode()


def verify_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:_BCRYPT_MAX], hashed.encode())
    except ValueError:
        return False


def create_access_token(user_id: int, expires_minutes: int | None = None) -> str:
    settings = get_settings()
    now = datetime.now(UTC)
    minutes = (
        expires_minutes if expires_minutes is not None else settings.ACCESS_TOKEN_EXPIRE_MINUTES
    )
    claims = {
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "type": TOKEN_TYPE_ACCESS,
    }
    return jwt.encode(claims, signing_key(settings), algorithm=ALGORITHM)


def decode_access_token(token: str) -> int:
    """The user id of a valid access token; InvalidTokenError otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(token, signing_key(), algorithms=[ALGORITHM])
    except JWTError as exc:
        raise InvalidTokenError("invalid token") from exc
    if claims.get("type") != TOKEN_TYPE_ACCESS:
        raise InvalidTokenError("wrong token type")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.isdigit():
        raise InvalidTokenError("bad subject")
    return int(sub)


@dataclass(frozen=True)
class Ticket:
    user_id: int
    interview_id: int


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


async def issue_ws_ticket(user_id: int, interview_id: int) -> tuple[str, int]:
    """A single-use opaque ticket bound to user and interview, kept in Redis."""
    ttl = get_settings().WS_TICKET_TTL_SEC
    ticket = secrets.token_urlsafe(32)
    payload = orjson.dumps({"user_id": user_id, "interview_id": interview_id})
    await get_redis().set(TICKET_PREFIX + ticket, payload, ex=ttl)
    return ticket, ttl


async def redeem_ws_ticket(ticket: str) -> Ticket | None:
    """Take the ticket (GETDEL, so it works once); None when unknown or used."""
    if not ticket or len(ticket) > 128:
        return None
    raw = await get_redis().getdel(TICKET_PREFIX + ticket)
    if raw is None:
        return None
    data = orjson.loads(raw)
    return Ticket(user_id=int(data["user_id"]), interview_id=int(data["interview_id"]))
