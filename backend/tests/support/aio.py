"""Awaiting with a count of the event-loop iterations it took."""

from __future__ import annotations

import types
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
