"""The in-process Redis of memory://: the commands HireEz sends, answered from this process's
memory behind redis.asyncio's client interface (`decode_responses=True`).

fakeredis answered them before: every command packed to RESP, parsed back, checked and
answered in Python, plus redis-py's connection pool around it — ~20 % of an embedded answer's
server CPU (docs/benchmarks.md). Here a command is a method call on a dict. Replies, errors
and expiry follow Redis's (tests/test_redis_inprocess.py runs the same cases against a Redis
server in the PostgreSQL + Redis test run). A command this store does not know is an
AttributeError naming it, never a silent no-op.
"""

from __future__ import annotations

import asyncio
import fnmatch
import heapq
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import timedelta
from time import monotonic
from typing import Any

from redis.exceptions import DataError, ResponseError

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_AN_INTEGER = "value is not an integer or out of range"
_INTEGER = re.compile(r"0|-?[1-9][0-9]*")  # what Redis reads as an integer

Value = str | dict[str, str]


def _text(value: Any) -> str:
    """A key, value or field as Redis stores it and redis-py (`decode_responses`) reads it back:
    bytes and str as they are, numbers as their repr; anything else refused as redis-py does."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(
            f"Invalid input of type: '{type(value).__name__}'. "
            "Convert to a bytes, string, int or float first."
        )
    return repr(value)


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(int(value))


def _millis(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else int(value) / 1000


class InProcessStore:
    """Keys of this process: strings and hashes, each with an optional deadline. An expired key
    is gone at its next read (as in Redis) and swept within a command of its deadline, so keys
    nobody reads again (a ticket never used) do not stay in memory."""

    def __init__(self) -> None:
        self.data: dict[str, Value] = {}
        self.deadlines: dict[str, float] = {}  # key -> the monotonic() time it expires at
        self._heap: list[tuple[float, str]] = []  # (deadline, key); stale entries skipped
        self.channels: dict[str, set[InProcessPubSub]] = {}

    # -- expiry ------------------------------------------------------------------------------
    def _sweep(self, now: float) -> None:
        heap, deadlines, data = self._heap, self.deadlines, self.data
        while heap and heap[0][0] <= now:
            deadline, key = heapq.heappop(heap)
            if deadlines.get(key) == deadline:
                del deadlines[key], data[key]
        if len(heap) > 64 + 2 * len(deadlines):  # mostly stale (TTLs renewed): rebuild
            self._heap = [(at, key) for key, at in deadlines.items()]
            heapq.heapify(self._heap)

    def _value(self, key: str) -> Value | None:
        deadline = self.deadlines.get(key)
        if deadline is not None:
            now = monotonic()
            if deadline <= now:
                self._sweep(now)
                return None
        return self.data.get(key)

    def _string(self, key: str) -> str | None:
        value = self._value(key)
        if value is not None and not isinstance(value, str):
            raise ResponseError(WRONGTYPE)
        return value

    def _expire_at(self, key: str, deadline: float) -> None:
        self.deadlines[key] = deadline
        heapq.heappush(self._heap, (deadline, key))

    def _drop(self, key: str) -> bool:
        self.deadlines.pop(key, None)
        return self.data.pop(key, None) is not None

    # -- commands ----------------------------------------------------------------------------
    def ping(self) -> bool:
        return True

    def get(self, name: Any) -> str | None:
        return self._string(_text(name))

    def getdel(self, name: Any) -> str | None:
        key = _text(name)
        value = self._string(key)
        if value is not None:
            self._drop(key)
        return value

    def set(
        self,
        name: Any,
        value: Any,
        ex: int | timedelta | None = None,
        px: int | timedelta | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        get: bool = False,
    ) -> bool | str | None:
        if nx and xx:
            raise DataError("``nx`` and ``xx`` are mutually exclusive.")
        key, text = _text(name), _text(value)
        lifetime = _seconds(ex) if ex is not None else _millis(px) if px is not None else None
        if lifetime is not None and lifetime <= 0:
            raise ResponseError("invalid expire time in 'set' command")
        now = monotonic()
        self._sweep(now)
        old = self._string(key) if get else None
        if (nx or xx) and (self._value(key) is None) == xx:
            return old if get else None
        self.data[key] = text
        if lifetime is not None:
            self._expire_at(key, now + lifetime)
        elif not keepttl:
            self.deadlines.pop(key, None)
        return old if get else True

    def delete(self, *names: Any) -> int:
        return sum(self._value(key) is not None and self._drop(key) for key in map(_text, names))

    def exists(self, *names: Any) -> int:
        return sum(self._value(_text(name)) is not None for name in names)

    def expire(self, name: Any, time: int | timedelta) -> bool:
        key = _text(name)
        if self._value(key) is None:
            return False
        lifetime = _seconds(time)
        if lifetime <= 0:
            return self._drop(key)
        now = monotonic()
        self._sweep(now)
        self._expire_at(key, now + lifetime)
        return True

    def ttl(self, name: Any) -> int:
        key = _text(name)
        if self._value(key) is None:
            return -2
        deadline = self.deadlines.get(key)
        if deadline is None:
            return -1
        return int((deadline - monotonic()) + 0.5)  # Redis rounds to the nearest second

    def incrby(self, name: Any, amount: int = 1) -> int:
        key = _text(name)
        value = self._string(key)
        if value is not None and not _INTEGER.fullmatch(value):
            raise ResponseError(NOT_AN_INTEGER)  # Python's int() would take " 5" and "1_0"
        number = int(value or 0) + int(amount)
        if not -(2**63) <= number < 2**63:
            raise ResponseError("increment or decrement would overflow")
        self.data[key] = str(number)  # its deadline, if any, stays (as INCR keeps the TTL)
        return number

    incr = incrby

    def hset(
        self,
        name: Any,
        key: Any = None,
        value: Any = None,
        mapping: Mapping[Any, Any] | None = None,
        items: Iterable[Any] | None = None,
    ) -> int:
        pairs: list[tuple[Any, Any]] = []
        if key is not None:
            pairs.append((key, value))
        if items:
            flat = list(items)
            pairs.extend(zip(flat[::2], flat[1::2], strict=True))
        if mapping:
            pairs.extend(mapping.items())
        if not pairs:
            raise DataError("'hset' with no key value pairs")
        fields = {_text(field): _text(text) for field, text in pairs}
        name = _text(name)
        hash_ = self._value(name)
        if hash_ is None:
            hash_ = self.data[name] = {}
        elif not isinstance(hash_, dict):
            raise ResponseError(WRONGTYPE)
        added = sum(field not in hash_ for field in fields)
        hash_.update(fields)
        return added

    def hgetall(self, name: Any) -> dict[str, str]:
        value = self._value(_text(name))
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ResponseError(WRONGTYPE)
        return dict(value)

    def keys(self, pattern: Any = "*") -> list[str]:
        self._sweep(monotonic())
        match = _text(pattern)
        return [key for key in list(self.data) if fnmatch.fnmatchcase(key, match)]

    def dbsize(self) -> int:
        self._sweep(monotonic())
        return len(self.data)

    def flushdb(self, asynchronous: bool = False) -> bool:
        self.data.clear()
        self.deadlines.clear()
        self._heap.clear()
        return True

    def publish(self, channel: Any, message: Any) -> int:
        name, text = _text(channel), _text(message)
        listeners = self.channels.get(name, ())
        for pubsub in listeners:
            pubsub.deliver({"type": "message", "pattern": None, "channel": name, "data": text})
        return len(listeners)


COMMANDS = [
    *("ping", "get", "getdel", "set", "delete", "exists", "expire", "ttl", "incr", "incrby"),
    *("hset", "hgetall", "keys", "dbsize", "flushdb", "publish"),
]


def _error_in(index: int, command: tuple[str, tuple[Any, ...]], error: Exception) -> Exception:
    """The error of a pipeline's command, named as redis-py names it."""
    name, args = command
    text = " ".join([name.upper(), *map(str, args)])
    return type(error)(f"Command # {index} ({text}) of pipeline caused error: {error.args[0]}")


class InProcessPipeline:
    """redis-py's pipeline: commands queued, then run together by `execute`. Nothing else runs
    between them here, so a transaction (MULTI / EXEC) and a plain pipeline are the same."""

    def __init__(self, client: InProcessRedis, transaction: bool = True) -> None:
        self._client = client
        self.transaction = transaction
        self.command_stack: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __len__(self) -> int:
        return len(self.command_stack)

    async def __aenter__(self) -> InProcessPipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reset()

    def reset(self) -> None:
        self.command_stack = []

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack, self.command_stack = self.command_stack, []
        self._client.calls += 1
        store = self._client.store
        results: list[Any] = []
        for name, args, kwargs in stack:
            try:
                results.append(getattr(store, name)(*args, **kwargs))
            except (ResponseError, DataError) as error:
                results.append(error)
        if raise_on_error:
            for index, result in enumerate(results, 1):
                if isinstance(result, Exception):
                    raise _error_in(index, stack[index - 1][:2], result)
        return results


def _queue(name: str) -> Callable[..., InProcessPipeline]:
    def queue(self: InProcessPipeline, *args: Any, **kwargs: Any) -> InProcessPipeline:
        self.command_stack.append((name, args, kwargs))
        return self

    queue.__name__ = name
    return queue


class InProcessPubSub:
    """redis-py's PubSub for this process's channels: what PUBLISH sends to a channel this
    follows, then its subscribe / unsubscribe confirmations, in order."""

    def __init__(self, store: InProcessStore, ignore_subscribe_messages: bool = False) -> None:
        self._store = store
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self.channels: set[str] = set()
        self._messages: deque[dict[str, Any]] = deque()
        self._arrived = asyncio.Event()

    def deliver(self, message: dict[str, Any]) -> None:
        self._messages.append(message)
        self._arrived.set()

    def _leave(self, name: str) -> None:
        self.channels.discard(name)
        listeners = self._store.channels.get(name)
        if listeners is not None:
            listeners.discard(self)
            if not listeners:
                del self._store.channels[name]

    async def subscribe(self, *channels: Any) -> None:
        for name in map(_text, channels):
            self.channels.add(name)
            self._store.channels.setdefault(name, set()).add(self)
            self.deliver(
                {"type": "subscribe", "pattern": None, "channel": name, "data": len(self.channels)}
            )

    async def unsubscribe(self, *channels: Any) -> None:
        for name in list(map(_text, channels)) or sorted(self.channels):
            self._leave(name)
            self.deliver(
                {
                    "type": "unsubscribe",
                    "pattern": None,
                    "channel": name,
                    "data": len(self.channels),
                }
            )

    async def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> dict[str, Any] | None:
        """The next message, or None after `timeout` seconds (None: wait for one). A subscribe
        or unsubscribe confirmation that is to be ignored is taken and None returned, as
        redis-py does."""
        if not self._messages and timeout != 0:
            self._arrived.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._arrived.wait()
            except TimeoutError:
                return None
        if not self._messages:
            return None
        message = self._messages.popleft()
        ignore = ignore_subscribe_messages or self.ignore_subscribe_messages
        if ignore and message["type"] in ("subscribe", "unsubscribe"):
            return None
        return message

    async def aclose(self) -> None:
        for name in list(self.channels):
            self._leave(name)
        self._messages.clear()

    reset = aclose


class InProcessRedis:
    """The client: redis.asyncio.Redis's methods for the commands in COMMANDS, `pipeline`,
    `pubsub` and `scan_iter`. A command answers without suspending its task (there is nothing
    to wait for). `calls` counts commands and pipelines run: what a Redis server would see as
    round trips."""

    def __init__(self, store: InProcessStore) -> None:
        self.store = store
        self.calls = 0

    def pipeline(
        self, transaction: bool = True, shard_hint: str | None = None
    ) -> InProcessPipeline:
        return InProcessPipeline(self, transaction)

    def pubsub(self, ignore_subscribe_messages: bool = False) -> InProcessPubSub:
        return InProcessPubSub(self.store, ignore_subscribe_messages)

    async def scan_iter(
        self, match: Any = None, count: int | None = None, _type: str | None = None
    ) -> AsyncIterator[str]:
        self.calls += 1
        for key in self.store.keys(match if match is not None else "*"):
            kind = "hash" if isinstance(self.store.data.get(key), dict) else "string"
            if _type is None or _type == kind:
                yield key

    async def aclose(self) -> None:
        return None


def _command(name: str) -> Callable[..., Any]:
    run = getattr(InProcessStore, name)

    async def command(self: InProcessRedis, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return run(self.store, *args, **kwargs)

    command.__name__ = name
    return command


for _name in COMMANDS:
    setattr(InProcessRedis, _name, _command(_name))
    setattr(InProcessPipeline, _name, _queue(_name))
