"""Starting a coroutine's first step at once (`app/core/aio.py`): `start_task` runs it as the
new task (as Python 3.12's eager tasks do), `start_here` in the caller's task; either way the
rest is a task's, cancellation included."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from app.core.aio import start_here, start_task

where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="caller")


async def test_start_task_runs_its_first_step_now_as_the_new_task() -> None:
    caller = asyncio.current_task()
    seen: list[object] = []
    release = asyncio.get_running_loop().create_future()

    async def turn() -> str:
        seen.append(asyncio.current_task())
        where.set("turn")
        await release
        seen.append(asyncio.current_task())
        return where.get()

    task = start_task(turn(), name="eager")
    assert seen == [task]  # ran before start_task returned, as the task
    assert asyncio.current_task() is caller  # and the caller is itself again
    assert where.get() == "caller"  # the task has a copy of the context
    release.set_result(None)
    assert await task == "turn"
    assert seen == [task, task]
    assert task.get_name() == "eager"


async def test_a_timeout_set_in_the_first_step_cancels_the_task_not_the_caller() -> None:
    async def turn() -> str:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(5)
        except TimeoutError:
            return "timed out"
        return "slept"

    task = start_task(turn(), name="eager")
    await asyncio.sleep(0.05)  # the caller outlives the timeout, uncancelled
    assert await task == "timed out"


async def test_an_end_or_an_error_in_the_first_step_is_the_tasks() -> None:
    async def quick() -> int:
        return 7

    async def broken() -> int:
        raise ValueError("no")

    done = start_task(quick(), name="quick")
    failed = start_task(broken(), name="broken")
    assert await done == 7
    with pytest.raises(ValueError, match="no"):
        await failed
    cancelled_late = start_task(quick(), name="late")
    cancelled_late.cancel()  # it had already ended: as for a done task, too late
    assert await cancelled_late == 7


@pytest.mark.parametrize("start", ["task", "here"])
async def test_a_cancel_before_the_tasks_first_step_reaches_the_coroutines_wait(start: str) -> None:
    waited = asyncio.get_running_loop().create_future()
    cleaned: list[str] = []

    async def body() -> None:
        try:
            await waited
        except asyncio.CancelledError:
            cleaned.append("cancelled at its wait")
            raise
        finally:
            cleaned.append("finally")

    task = start_task(body(), name="t") if start == "task" else start_here(body(), name="h")
    assert task is not None
    task.cancel()  # the same iteration: the task has not run a step of its own yet
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["cancelled at its wait", "finally"]
    assert waited.cancelled()  # as a task cancels the future it waits on


async def test_start_here_runs_in_the_callers_task_and_ends_without_a_task() -> None:
    caller = asyncio.current_task()
    seen: list[object] = []

    async def send() -> None:
        seen.append(asyncio.current_task())

    assert start_here(send(), name="w") is None
    assert seen == [caller]

    async def broken() -> None:
        raise ValueError("at once")

    with pytest.raises(ValueError, match="at once"):
        start_here(broken(), name="w")


async def test_start_task_from_a_plain_callback() -> None:
    loop = asyncio.get_running_loop()
    started: asyncio.Future[asyncio.Task[int]] = loop.create_future()

    async def body() -> int:
        assert asyncio.current_task() is not None
        await asyncio.sleep(0)
        return 3

    loop.call_soon(lambda: started.set_result(start_task(body(), name="cb")))
    assert await (await started) == 3
