"""Login, access token and WebSocket ticket bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from app.schemas.common import RowId


class LoginRequest(BaseModel):
    # Not validated as an address: a malformed e-mail is just a failed login (401).
    email: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320)]
    password: Annotated[str, StringConstraints(max_length=1024)]


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the scheme name)
    expires_in: int = Field(description="seconds until the token expires")


class WsTicketRequest(BaseModel):
    interview_id: RowId


class WsTicketPublic(BaseModel):
    ticket: str
    expires_in: int = Field(description="seconds the ticket stays valid (single use)")
