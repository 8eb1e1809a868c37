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
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable

logger = logging.getLogger("app.read_gate")

# The reads one loop iteration runs while others wait: at K = 250 an iteration is then ~5 ms
# instead of 30+, `pong` p99 about a quarter and `thinking` p99 a third to a sixth of what
# they were (`make bench`, docs/benchmarks.md "Session 16's changes").
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
        self._handed: deque[tuple[Callable[[], None], contextvars.Context]] = deque()

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
        self._handed.append((callback, contextvars.copy_context()))
        loop.call_soon_threadsafe(self.run_handed)

    def run_handed(self) -> None:
        """On the loop: the handed-back callbacks not run yet, in the order handed."""
        handed = self._handed
        while handed:  # threads only append: the loop's thread is the one taking
            callback, context = handed.popleft()
            try:
                context.run(callback)
            except Exception:  # as the loop reports a failing callback; the reader goes on
                logger.exception("a handed-back callback failed")

    def _mark(self) -> None:
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


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReadGate] = weakref.WeakKeyDictionary()


def read_gate() -> ReadGate:
    """The running loop's gate."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = ReadGate()
    return gate
