"""Running a coroutine in the caller's task until it first waits.

Each task started, and each task waited for through a callback, costs the work behind it a
loop iteration, and under load (`make bench`, K = 250) an iteration is tens of ms. Python
3.12's eager tasks start a task this way; on 3.11 a coroutine can be stepped by hand: its first
step runs at once, in the caller's task, and only if it waits is the rest handed to a task.

What runs in the caller's step sees the caller's task as `asyncio.current_task()`: use these
for code that binds nothing to its task before its first wait (no `asyncio.timeout` around
that wait), such as a session's close or a socket's send.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

_T = TypeVar("_T")


async def finish(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run `coro` to its end even if the calling task is cancelled meanwhile (the cancellation
    is raised once it has ended), as SQLAlchemy's `_run_to_completion` does for its closes, but
    in the caller's task for as long as `coro` does not wait for anything."""
    try:
        waiting_on = coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    task = asyncio.get_running_loop().create_task(_resume(coro, waiting_on))
    cancelled: BaseException | None = None
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError as exc:
            if task.done():
                raise
            cancelled = exc
        else:
            break
    if cancelled is not None:
        raise cancelled
    return result


def start_here(coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any] | None:
    """Start `coro` now, in the caller (in a copy of its context, as a task would be): None
    when it ended without waiting, else the task that runs the rest of it. Exceptions are the
    coroutine's to handle: one raised before its first wait reaches the caller."""
    context = contextvars.copy_context()
    try:
        waiting_on = context.run(coro.send, None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(
        _resume(coro, waiting_on), name=name, context=context
    )


async def _resume(coro: Coroutine[Any, Any, _T], waiting_on: Any) -> _T:
    return await _Resumed(coro, waiting_on)  # type: ignore[no-any-return]


class _Resumed:
    """A coroutine already started by hand and now waiting on `waiting_on` (what it yielded to
    its task), as an awaitable that a task can drive from there."""

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coro, self.waiting_on = coro, waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, out = self.coro, self.waiting_on
        try:
            while True:
                try:
                    sent = yield out
                except GeneratorExit:
                    coro.close()
                    raise
                except BaseException as exc:  # thrown in by the task (cancellation): pass it on
                    out = coro.throw(exc)
                else:
                    out = coro.send(sent)
        except StopIteration as done:
            return done.value
