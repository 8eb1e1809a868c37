"""POST /auth/login, GET /auth/me, POST /auth/ws-ticket."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from app.core.config import get_settings
from app.core.dependencies import UNAUTHORIZED, CurrentUser, RedisDep, TokenUserId
from app.core.security import create_access_token, issue_ws_ticket
from app.schemas.auth import LoginRequest, TokenPublic, WsTicketPublic, WsTicketRequest
from app.schemas.user import UserPublic
from app.services import auth_service, interview_service

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    responses={401: {"description": "Wrong e-mail or password, or an inactive account"}},
)
async def login(body: LoginRequest, request: Request, redis: RedisDep) -> TokenPublic:
    """Trade e-mail (any case) and password for a bearer access token."""
    client = request.client.host if request.client else "unknown"
    user_id = await auth_service.authenticate(redis, body.email, body.password, client=client)
    if user_id is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    minutes = get_settings().ACCESS_TOKEN_EXPIRE_MINUTES
    return TokenPublic(access_token=create_access_token(user_id, minutes), expires_in=minutes * 60)


@router.get("/me")
async def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.post(
    "/ws-ticket",
    responses={
        403: {"description": "Not this interview's candidate"},
        404: {"description": "No such interview"},
        409: {"description": "The interview is completed, cancelled or expired"},
    },
)
async def ws_ticket(body: WsTicketRequest, user_id: TokenUserId) -> WsTicketPublic:
    """A single-use ticket for the interview's WebSocket, valid `WS_TICKET_TTL_SEC`.

    Issued to the interview's candidate and to super_admin / hr_manager; interviewers get
    one too, for the read-only observe socket (the candidate and voice sockets refuse them).
    """
    # the user and the interview in one statement; no database connection is held while
    # Redis stores the ticket (every socket's open: docs/benchmarks.md)
    found = await interview_service.connect_lookup(user_id, body.interview_id)
    if found.role is None:
        raise UNAUTHORIZED
    interview_id = interview_service.check_can_connect(found)
    ticket, ttl = await issue_ws_ticket(user_id, interview_id)
    return WsTicketPublic(ticket=ticket, expires_in=ttl)
