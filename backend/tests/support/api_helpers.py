"""Helpers for the REST tests: the role world, password-hash scanning, multipart bodies."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Interview, InterviewStatus, Role, User
from tests.support.factories import InterviewSetup, auth, make_candidate, make_interview, make_user

API = "/api/v1"
HASH_MARKERS = ("hash", "$2b$", "$2a$", "$2y$")


def assert_no_password_hash(resp: httpx.Response) -> None:
    text = resp.text
    for marker in HASH_MARKERS:
        assert marker not in text, f"{resp.request.method} {resp.request.url} leaked {marker!r}"


class ResponseRecorder:
    """Keeps every response a client got, to scan them all at the end of a test."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        self.responses.append(response)


ROLES = ("super_admin", "hr_manager", "interviewer", "owner", "other_candidate", "anonymous")


@dataclass
class World:
    """One user of every role, a scheduled interview of `owner` and a completed one."""

    users: dict[str, User]
    setup: InterviewSetup
    completed: Interview
    other_candidate_id: int

    @property
    def interview_id(self) -> int:
        assert self.setup.interview.id is not None
        return self.setup.interview.id

    @property
    def completed_id(self) -> int:
        assert self.completed.id is not None
        return self.completed.id

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anonymous" else auth(self.users[role])


async def make_world(db: AsyncSession) -> World:
    setup = await make_interview(db)
    other_user, other_candidate = await make_candidate(db, full_name="Grace Hopper")
    completed = Interview(
        job_id=setup.job.id,  # type: ignore[arg-type]
        candidate_id=setup.candidate.id,  # type: ignore[arg-type]
        status=InterviewStatus.COMPLETED,
    )
    db.add(completed)
    await db.commit()
    await db.refresh(completed)
    users = {
        "super_admin": await make_user(db, Role.SUPER_ADMIN),
        "hr_manager": await make_user(db, Role.HR_MANAGER),
        "interviewer": await make_user(db, Role.INTERVIEWER),
        "owner": setup.candidate_user,
        "other_candidate": other_user,
    }
    assert other_candidate.id is not None
    return World(users, setup, completed, other_candidate.id)


def multipart_parts(
    size: int, *, content_type: str = "video/webm", boundary: str = "hireez-test-boundary"
) -> tuple[str, bytes, bytes, bytes]:
    """(header value, preamble, payload of `size` bytes, epilogue) of a one-file multipart body."""
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="interview.webm"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", head, os.urandom(size), tail


class CountingBody:
    """A chunked request body (no Content-Length) that counts how much the server pulled."""

    def __init__(self, parts: list[bytes], chunk: int = 64 * 1024) -> None:
        self.data = b"".join(parts)
        self.chunk = chunk
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), self.chunk):
            piece = self.data[start : start + self.chunk]
            self.pulled += len(piece)
            yield piece


def json_or_none(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None
