"""Model streams take turns on a busy event loop, so that the sockets' frames are not kept waiting.

An event loop runs, in each iteration, everything that became ready during the one before. When
each of K model streams has a read waiting every iteration (a loop at capacity: `make bench`,
K = 250), an iteration is K reads long (30+ ms on the bench machine), and any other frame waits
that long for each step of its path: a candidate's answer for its read, its turn's start and
its save before `thinking`; a `ping` for its `pong`.

With the gate, a stream asks before each read. Once this iteration's reads have taken a slice
(`SLICE_SEC`), the stream waits in line instead. While anyone waits, each iteration lets the
front of the line go, as many as took a slice the time before (timed). The loop's I/O and every
other task run between the slices, not after all K reads. A stream that waited finds in its
buffer what came meanwhile and reads it in one go, so its socket gets those pieces merged, as
a lagging socket does; nothing is dropped and a stream's order is kept.

The line moves at least every `MAX_WAIT_SEC`: when its front has waited longer, twice as many
go each iteration until it moves that fast again or all go at once (as with no gate), so a loop
swamped by other work (1000 sockets opening) streams as much as before. On a loop with time to
spare nobody waits, and the gate costs a clock reading a read and a callback an iteration.

A thread's hand-back to the loop (`hand_back`: the group commit's fsync done, so an answer's
`thinking` can go out) runs at the next stream read that asks, between two reads of a slice,
or in the loop's next iteration, whichever comes first: on a busy loop, a slice sooner than
`call_soon_threadsafe` alone, which waits behind the slice already queued.

A task the gate hurries (`hurry`: an answer's turn until its answer is durable) has its
wake-ups run before the next slice instead of behind it: a round trip's reply, read at the
loop's poll, wakes its task behind the slice (and all else) already queued for the next
iteration, so each round trip on an answer's path (PostgreSQL + Redis: the turn's Redis
pipeline, then the answer's save) cost two iterations where one would do. While any task is
hurried the loop's `call_soon` is wrapped (an instance attribute, removed when none is): a
hurried task's wake-up is queued here and runs at the start of the next slice (the gate's
`_mark`, queued before the slice's reads), or where the loop would have run it, whichever is
first, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import types
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger("app.read_gate")

# The reads one loop iteration runs while others wait: at K = 250 an iteration is then ~5 ms
# instead of 30+, `pong` p99 about a quarter and `thinking` p99 a third to a sixth of what
# they were (`make bench`, docs/benchmarks-history.md "Session 16's changes").
SLICE_SEC = 0.003
# The longest a stream waits in line before the line is made to move faster (see above); at
# K = 250 its front waits ~20-30 ms.
MAX_WAIT_SEC = 0.08


class ReadGate:
    """One per event loop: whose turn it is to read (`ask` before each read)."""

    def __init__(
        self,
        *,
        slice_sec: float = SLICE_SEC,
        max_wait_sec: float = MAX_WAIT_SEC,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.slice_sec = slice_sec
        self.max_wait_sec = max_wait_sec
        self._clock = clock
        self._line: deque[tuple[asyncio.Future[None], float]] = deque()  # (turn, since)
        self._armed = False  # a tick is due: this iteration has asked
        self._slice_start = 0.0
        self._batch = 1.0  # how many one iteration lets go
        self._released = 0  # let go by the last tick
        self._batch_start: float | None = None  # when those began to run
        self.waited = 0  # reads that waited in line (tests, diagnostics)
        # `hand_back`'s callbacks not run yet (deque: appended by threads, taken by the loop)
        self._handed: deque[_Wake] = deque()
        # `hurry`'s tasks by id: looked up by identity, as a bound method's owner may be
        # unhashable (`[].append`) or compare in its own way
        self._hurried: dict[int, asyncio.Future[Any]] = {}
        self._due: deque[_Wake] = deque()  # their wake-ups not run yet
        self._wrapped: asyncio.AbstractEventLoop | None = None  # whose call_soon is wrapped
        self._plain: Callable[..., asyncio.Handle] = asyncio.AbstractEventLoop.call_soon

    def ask(self) -> asyncio.Future[None] | None:
        """None: read now. Else a future done when it is this stream's turn (cancel it, or
        the task waiting on it, to leave the line)."""
        if self._handed:
            self.run_handed()
        now = self._clock()
        if not self._armed:  # the first ask of an iteration with nobody waiting
            self._armed = True
            self._slice_start = now
            asyncio.get_running_loop().call_soon(self._tick)
            return None
        if not self._line and now - self._slice_start < self.slice_sec:
            return None
        turn = asyncio.get_running_loop().create_future()
        self._line.append((turn, now))
        self.waited += 1
        return turn

    def hand_back(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        """From another thread: run `callback` once on `loop` (this gate's), in a copy of the
        caller's context, at the next stream read that asks or in the loop's next iteration,
        whichever is first. RuntimeError when the loop is closed."""
        self._handed.append(_HandedBack(callback, (), contextvars.copy_context()))
        loop.call_soon_threadsafe(self.run_handed)

    def run_handed(self) -> None:
        """On the loop: the handed-back callbacks not run yet, in the order handed (threads
        only append: the loop's thread is the one taking)."""
        _run_all(self._handed)

    def hurry(self, task: asyncio.Future[Any]) -> None:
        """Run `task`'s wake-ups before the next slice, until `unhurry(task)`. Does nothing on
        a loop whose `call_soon` cannot be wrapped (no instance attributes) or is already (by
        another gate: tests)."""
        if not self._hurried:
            loop = task.get_loop()
            attributes = getattr(loop, "__dict__", None)
            if attributes is None or "call_soon" in attributes:
                return
            loop.call_soon = self._call_soon  # type: ignore[method-assign,assignment]
            self._wrapped, self._plain = loop, type(loop).call_soon
        self._hurried[id(task)] = task

    def unhurry(self, task: asyncio.Future[Any]) -> None:
        """`task`'s wake-ups run where the loop puts them again (also when never hurried)."""
        if self._hurried.get(id(task)) is task:
            del self._hurried[id(task)]
        if not self._hurried and self._wrapped is not None:
            del self._wrapped.call_soon  # the class's own again
            self._wrapped = None

    def _call_soon(
        self, callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.Handle:
        """The loop's `call_soon` while a task is hurried: a hurried task's wake-up (a bound
        method of the task, as a future's done callback is) is also queued for `_mark`."""
        loop, plain = self._wrapped, self._plain
        if type(callback) in _BOUND and id(callback.__self__) in self._hurried:  # type: ignore[attr-defined]
            if context is None:  # as the loop would: the caller's (an empty one is falsy)
                context = contextvars.copy_context()
            wake = _Wake(callback, args, context)
            self._due.append(wake)
            return plain(loop, wake.run)  # where the loop would run it, if `_mark` comes later
        return plain(loop, callback, *args, context=context)

    def _mark(self) -> None:
        if self._due:  # hurried tasks' wake-ups: before the slice let go with this call
            _run_all(self._due)
        self._batch_start = self._clock()

    def _tick(self) -> None:
        """Once an iteration while anyone waits: let the front of the line go. Those let go
        run next, one after another, and then the next tick, which times them."""
        now = self._clock()
        line = self._line
        while line and line[0][0].done():  # cancelled while waiting: left the line
            line.popleft()
        if not line:
            self._armed = False
            self._batch_start = None
            return
        last = self._released
        if now - line[0][1] > self.max_wait_sec:  # the line moves too slowly: twice as many,
            # up to all of it (more would grow without end while the loop stays this busy)
            self._batch = min(max(self._batch, last) * 2, float(len(line)))
        elif self._batch_start is not None:  # a slice's worth, by how long the last ones took
            took = max(now - self._batch_start, 1e-6)
            self._batch = max(last * min(max(self.slice_sec / took, 0.5), 2.0), 1.0)
        self._batch_start = None
        loop = asyncio.get_running_loop()
        loop.call_soon(self._mark)
        let_go = round(self._batch)
        released = 0
        while line and released < let_go:
            turn, _ = line.popleft()
            if not turn.done():
                turn.set_result(None)
                released += 1
        self._released = released
        self._slice_start = now
        loop.call_soon(self._tick)


# what a future's done callback that wakes a task is: the C task's `task_wakeup` (a builtin
# method) or the Python task's bound `__wakeup`
_BOUND = (types.BuiltinMethodType, types.MethodType)


class _Wake:
    """A hurried task's wake-up: run once, by `_mark` or by the loop, whichever is first."""

    __slots__ = ("args", "callback", "context")
    FAILED = "a hurried task's wake-up failed"

    def __init__(
        self, callback: Callable[..., Any], args: tuple[Any, ...], context: contextvars.Context
    ) -> None:
        self.callback: Callable[..., Any] | None = callback
        self.args = args
        self.context = context

    def run(self) -> None:
        callback, self.callback = self.callback, None
        if callback is None:
            return  # run already
        try:
            self.context.run(callback, *self.args)
        except Exception:  # as the loop reports a failing callback; the caller goes on
            logger.exception(self.FAILED)


class _HandedBack(_Wake):
    """A thread's callback handed back to the loop (`ReadGate.hand_back`)."""

    __slots__ = ()
    FAILED = "a handed-back callback failed"


def _run_all(due: deque[_Wake]) -> None:
    """Run `due`'s callbacks, in order, until it is empty."""
    while due:
        due.popleft().run()


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReadGate] = weakref.WeakKeyDictionary()


def read_gate() -> ReadGate:
    """The running loop's gate."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = ReadGate()
    return gate


@contextlib.contextmanager
def hurried() -> Iterator[None]:
    """The current task hurried (`ReadGate.hurry`) for the block: for waits on the path of
    what a client is waiting for (an answer's `thinking`)."""
    task = asyncio.current_task()
    if task is None:
        yield
        return
    gate = read_gate()
    gate.hurry(task)
    try:
        yield
    finally:
        gate.unhurry(task)
