"""Running a coroutine's first step in the caller's step, instead of a loop iteration later.

Each task started, and each task waited for through a callback, costs the work behind it a
loop iteration, and under load (`make bench`, K = 250) an iteration is several ms. Python
3.12's eager tasks start a task this way; here it is done by hand, the same on every version:

- `start_here`: the first step runs in the caller's task (what it binds to
  `asyncio.current_task()` is the caller's): for code that binds nothing to its task before
  its first wait, such as a session's close or a socket's send. No task at all when it ends
  without waiting.
- `start_task`: the first step runs as the new task (`asyncio.current_task()` is the task,
  as in an eager task), so `asyncio.timeout`, a lock's waiter or a pool's checkout bind to it.

Either way, once the coroutine waits the rest is driven by a task (`_Rest`): its wake-up, a
cancellation (also one before that task's first step) and its result are the coroutine's.
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
    rest = _Rest(coro)
    if rest.step():
        return rest.outcome()
    task = asyncio.get_running_loop().create_task(rest)
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
    try:  # (the step by hand, not by `_Rest.step`: the writer's every frame comes this way)
        first = context.run(coro.send, None)
    except StopIteration:
        return None
    rest = _Rest.waiting_on(coro, first)
    return asyncio.get_running_loop().create_task(rest, name=name, context=context)


def start_task(coro: Coroutine[Any, Any, _T], *, name: str) -> asyncio.Task[_T]:
    """`coro` as a task (in a copy of the caller's context) whose first step runs now, as that
    task: Python 3.12's `eager_start`. What the coroutine returns or raises in that step is
    the task's, as later (the task is done an iteration later, when its own first step
    collects it; on 3.12 an eager task is done at once)."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    rest = _Rest(coro)
    task = loop.create_task(rest, name=name, context=context)
    caller = asyncio.current_task(loop)
    if caller is not None:
        asyncio.tasks._leave_task(loop, caller)
    asyncio.tasks._enter_task(loop, task)
    try:
        context.run(rest.step)
    finally:
        asyncio.tasks._leave_task(loop, task)
        if caller is not None:
            asyncio.tasks._enter_task(loop, caller)
    return task


_FIRST, _ENDED, _RUNNING = 0, 1, 2


class _Rest(Coroutine[Any, Any, _T]):
    """A coroutine whose first step is run by hand (`step`), as a coroutine a task can drive
    from there: the task's first `send` gets what that step waited on (or its outcome), and
    everything after goes to the coroutine itself."""

    __slots__ = ("_coro", "_error", "_first", "_state", "_value")

    def __init__(self, coro: Coroutine[Any, Any, _T]) -> None:
        self._coro = coro
        self._state = _RUNNING
        self._first: Any = None  # what the first step waited on, until the task takes it
        self._value: _T | None = None
        self._error: BaseException | None = None

    @classmethod
    def waiting_on(cls, coro: Coroutine[Any, Any, _T], first: Any) -> _Rest[_T]:
        """A coroutine whose first step has been run by hand and waits on `first`: the task's
        first `send` gets it, as after `step`."""
        rest = cls(coro)
        rest._state, rest._first = _FIRST, first
        return rest

    def step(self) -> bool:
        """The first step; True when the coroutine ended in it (`outcome`)."""
        try:
            self._first = self._coro.send(None)
        except StopIteration as done:
            self._state, self._value = _ENDED, done.value
            return True
        except (KeyboardInterrupt, SystemExit):
            raise  # as a task's step does
        except BaseException as exc:  # the task's, or the caller's (`outcome`)
            self._state, self._error = _ENDED, exc
            return True
        self._state = _FIRST
        return False

    def outcome(self) -> _T:
        """What the coroutine returned in its first step (raises what it raised)."""
        self._state = _RUNNING
        error, self._error = self._error, None
        if error is not None:
            raise error
        return self._value  # type: ignore[return-value]

    def send(self, value: Any) -> Any:
        if self._state == _ENDED:  # the task collecting what its first step ended with
            raise StopIteration(self.outcome())
        if self._state == _FIRST:  # the task's first step: it now waits on the same
            self._state = _RUNNING
            first, self._first = self._first, None
            return first
        return self._coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        if self._state == _ENDED:  # cancelled after it ended: too late, as for a done task
            return self.send(None)
        if self._state == _FIRST:  # cancelled before the task's first step: the coroutine
            self._state = _RUNNING  # gets it at its wait, whose future is cancelled as a
            first, self._first = self._first, None  # task cancels the one it waits on
            if isinstance(first, asyncio.Future) and isinstance(typ, asyncio.CancelledError):
                first.cancel()
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, Any, _T]:
        raise TypeError("a task drives it (send / throw); it is not awaited")
