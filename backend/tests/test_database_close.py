"""Closing a session or a connection costs no event-loop iteration when the close has nothing
to wait for (`app/core/database.py`, `finish`). SQLAlchemy's own `async with` closes in a
task of its own behind a shield: three iterations per close, which the answer's `thinking`
waited for under load (`make bench`). The guarantee that made it do so is kept: a close that
waits is finished even when its caller is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.core.aio import finish
from app.core.database import connection, session_factory, transaction
from app.models import Interview


async def iterations(awaitable: Awaitable[Any]) -> tuple[int, Any]:
    """Await `awaitable`; how many loop iterations passed meanwhile, and its result."""
    loop = asyncio.get_running_loop()
    count, running = 0, True

    def tick() -> None:
        nonlocal count
        if running:
            count += 1
            loop.call_soon(tick)

    loop.call_soon(tick)
    try:
        result = await awaitable
    finally:
        running = False
    return count, result


async def test_a_coroutine_that_does_not_wait_runs_to_its_end_in_the_callers_task():
    me = asyncio.current_task()

    async def quick() -> Any:
        return asyncio.current_task()

    assert await iterations(finish(quick())) == (0, me)


async def test_a_coroutine_that_waits_is_finished_even_when_its_caller_is_cancelled():
    steps: list[str] = []
    release = asyncio.Event()

    async def slow() -> str:
        steps.append("began")
        await release.wait()
        steps.append("ended")
        return "done"

    release.set()
    assert await finish(slow()) == "done"  # with nothing to wait for
    release.clear()
    steps.clear()
    caller = asyncio.create_task(finish(slow()))
    await asyncio.sleep(0)
    assert steps == ["began"]
    caller.cancel()  # twice: the close still goes on
    await asyncio.sleep(0)
    caller.cancel()
    await asyncio.sleep(0)
    assert not caller.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert steps == ["began", "ended"]  # the cancellation came after the end, not instead


async def test_an_error_reaches_the_caller_whether_or_not_the_coroutine_waited():
    async def fails_at_once() -> None:
        raise ValueError("at once")

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise ValueError("later")

    with pytest.raises(ValueError, match="at once"):
        await finish(fails_at_once())
    with pytest.raises(ValueError, match="later"):
        await finish(fails_later())


async def test_a_session_closes_without_a_loop_iteration():
    session = session_factory()()
    await session.__aenter__()
    assert (await session.exec(select(Interview).limit(1))).all() is not None
    await session.commit()  # its connection is back in the pool: the close has nothing to wait
    count, _ = await iterations(session.__aexit__(None, None, None))
    assert count == 0


async def test_a_connection_closes_without_a_loop_iteration():
    closing: list[int] = []
    async with connection() as conn:
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        await conn.commit()
        loop = asyncio.get_running_loop()
        closing.append(0)
        loop.call_soon(closing.append, 1)  # runs at the next iteration, if there is one
    assert closing == [0]  # the `async with` ended in this iteration


async def test_a_transaction_commits_and_an_error_rolls_it_back():
    async with transaction() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS close_probe (v INTEGER)"))
    try:
        async with transaction() as conn:
            await conn.execute(text("INSERT INTO close_probe (v) VALUES (1)"))
        with pytest.raises(RuntimeError):
            async with transaction() as conn:
                await conn.execute(text("INSERT INTO close_probe (v) VALUES (2)"))
                raise RuntimeError("before the commit")
        async with connection() as conn:
            rows = (await conn.execute(text("SELECT v FROM close_probe"))).scalars().all()
        assert rows == [1]
    finally:
        async with transaction() as conn:
            await conn.execute(text("DROP TABLE close_probe"))
