"""Start-up and shut-down of the app's background services (first superuser, evaluations)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

from sqlmodel import select

from app.core.aio import start_task
from app.core.config import Settings
from app.core.database import session_factory
from app.core.security import hash_password
from app.models import Role, User

logger = logging.getLogger("app.lifecycle")


async def ensure_first_superuser(settings: Settings) -> None:
    email, password = settings.FIRST_SUPERUSER_EMAIL, settings.FIRST_SUPERUSER_PASSWORD
    if not email or not password:
        return
    async with session_factory()() as session:
        existing = (await session.exec(select(User).where(User.email == email.lower()))).first()
        if existing is not None:
            return
        session.add(
            User(
                email=email.lower(),
                full_name="Administrator",
                hashed_password=hash_password(password),
                role=Role.SUPER_ADMIN,
            )
        )
        await session.commit()
        logger.info("created the first super_admin")


async def startup(settings: Settings) -> None:
    from app.services.interview_events import get_hub

    await ensure_first_superuser(settings)
    await get_hub().start()


async def shutdown() -> None:
    from app.ai.openai_client import close_openai_clients
    from app.services.interview_events import get_hub, reset_hub
    from app.services.ws_connection_manager import get_manager, reset_manager

    await get_manager().close_all()
    await drain()
    reset_manager()
    await close_openai_clients()
    await get_hub().stop()
    reset_hub()


# Background tasks the app owns (in-process evaluations, AI turns): kept so they are not
# garbage-collected mid-flight, and awaited on shutdown.
_background: set[asyncio.Task[object]] = set()


def spawn(
    coro: Coroutine[object, object, object], *, name: str, eager: bool = False
) -> asyncio.Task[object]:
    """Run `coro` as an app-owned task that outlives the request or socket that started it.
    `eager`: its first step runs now, as the task (`app.core.aio.start_task`)."""
    task: asyncio.Task[object] = (
        start_task(coro, name=name) if eager else asyncio.create_task(coro, name=name)
    )
    _background.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[object]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("background task %s failed", task.get_name(), exc_info=task.exception())


async def drain(timeout: float = 30.0) -> None:
    """Wait for every background task (tests, and graceful shutdown)."""
    if _background:
        await asyncio.wait(list(_background), timeout=timeout)
