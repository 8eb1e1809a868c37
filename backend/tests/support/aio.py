"""Counting event-loop iterations: awaiting with a count of the suspensions it took, and a
callback that runs once every iteration."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable
from typing import Any


@types.coroutine
def suspensions(awaitable: Any, box: list[int]) -> Any:
    """Await `awaitable`, counting how often it suspended its task (each suspension waits for
    at least one more event-loop iteration)."""
    steps = awaitable.__await__()
    try:
        waiting = steps.send(None)
        while True:
            box[0] += 1
            try:
                result = yield waiting
            except BaseException as exc:  # a cancel or error delivered to the awaited step
                waiting = steps.throw(exc)
            else:
                waiting = steps.send(result)
    except StopIteration as stop:
        return stop.value


class EveryIteration:
    """Calls `step` once every loop iteration (a callback that schedules itself) until
    stopped; `count`: how many times so far (the loop's iterations)."""

    def __init__(self, step: Callable[[], None] = lambda: None) -> None:
        self.step = step
        self.count = 0
        self.running = True
        asyncio.get_running_loop().call_soon(self._run)

    def _run(self) -> None:
        self.count += 1
        self.step()
        if self.running:
            asyncio.get_running_loop().call_soon(self._run)

    def stop(self) -> None:
        self.running = False
