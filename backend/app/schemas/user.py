"""User model family. No model here has a password hash field: none can leak it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.models import Role
from app.schemas.common import EmailAddress, Name, Password


class UserBase(BaseModel):
    email: EmailAddress
    full_name: Name
    role: Role


class UserCreate(UserBase):
    password: Password


class UserUpdate(BaseModel):
    is_active: bool | None = None
    full_name: Name | None = None
    role: Role | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime
