"""One Redis client factory: redis.asyncio for redis://, the in-process store
(`redis_inprocess.py`) for memory://."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Generator
from typing import Any, cast

import redis.asyncio as redis_asyncio
import redis.exceptions

from app.core.redis_inprocess import InProcessRedis, InProcessStore

REDIS_MAX_CONNECTIONS = 128  # per client (process); commands hold one only for a round trip
REDIS_POOL_TIMEOUT_SEC = 20.0

_store: InProcessStore | None = None  # memory://'s keys: one store for the whole process
_client: redis_asyncio.Redis | None = None


class _TimeoutInTheCallersTask:
    """redis-py bounds each command's write by `socket_timeout` (5 s unless set) through
    `asyncio.wait_for`, which on Python 3.11 runs the write in a task of its own: every command
    then waited two more event-loop iterations, tens of ms each on a busy loop (`make bench`:
    four commands before `thinking`). The same bound by `asyncio.timeout`, in the caller's
    task; the reply's read keeps redis-py's own timeout (no task)."""

    socket_timeout: float | None

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        timeout = self.socket_timeout
        if not timeout:
            await super().send_packed_command(command, check_health)  # type: ignore[misc]
            return
        self.socket_timeout = None  # redis-py then writes at once, without `wait_for`
        try:
            async with asyncio.timeout(timeout):
                await super().send_packed_command(command, check_health)  # type: ignore[misc]
        except TimeoutError:
            await self.disconnect(nowait=True)  # type: ignore[attr-defined]
            raise redis.exceptions.TimeoutError("Timeout writing to socket") from None
        finally:
            self.socket_timeout = timeout


_timely: dict[type, type] = {}


def timely(connection_class: type) -> type:
    """`connection_class` with `_TimeoutInTheCallersTask` (one subclass per class)."""
    if connection_class not in _timely:
        name = "Timely" + connection_class.__name__
        _timely[connection_class] = type(name, (_TimeoutInTheCallersTask, connection_class), {})
    return _timely[connection_class]


@types.coroutine
def _go_on(steps: Any, waiting: Any) -> Generator[Any, None, None]:
    """Drive a coroutine that already ran up to its first wait (`waiting`) to its end, in the
    task that awaits this (as that task would have driven it from the start)."""
    while True:
        try:
            yield waiting
        except BaseException as exc:  # a cancel or error meant for the coroutine's own wait
            try:
                waiting = steps.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waiting = steps.send(None)
            except StopIteration:
                return


async def _finish(steps: Any, waiting: Any) -> None:
    await _go_on(steps, waiting)


async def release_at_once(pool: Any, connection: Any) -> None:
    """`pool.release(connection)` run in the caller's task. redis-py's pipelines shield the
    release (a second cancel must not split the pool's bookkeeping), and `asyncio.shield`
    runs it as a task of its own: three loop iterations after every pipeline's reply. A release
    that completes without waiting (the pool's lock is free: nearly always) leaves no moment for
    a cancel; one that has to wait is finished shielded, as redis-py does."""
    steps = pool.release(connection)
    try:
        waiting = steps.send(None)
    except StopIteration:
        return
    await asyncio.shield(_finish(steps, waiting))


class _Pipeline(redis_asyncio.client.Pipeline):
    """redis-py's pipeline, its connection given back by `release_at_once`."""

    async def reset(self) -> None:  # type: ignore[override]
        connection = None if self.watching else self.connection
        if connection is not None:
            self.connection = None  # redis-py's reset then has none to give back itself
        try:
            await super().reset()  # type: ignore[no-untyped-call]
        finally:
            if connection is not None:
                await release_at_once(self.connection_pool, connection)


class _Client(redis_asyncio.Redis):
    """A client whose pipelines are `_Pipeline`s."""

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> _Pipeline:
        return _Pipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def create_redis(url: str) -> redis_asyncio.Redis:
    """A client for `url`; every memory:// client of this process shares one store."""
    if url.startswith("memory://"):
        global _store
        if _store is None:
            _store = InProcessStore()
        # the same methods, replies and errors as redis.asyncio.Redis for the commands HireEz
        # sends (tests/test_redis_inprocess.py runs them against both)
        return cast(redis_asyncio.Redis, InProcessRedis(_store))
    # A bounded pool that waits for a free connection: redis-py's default pool raises
    # MaxConnectionsError past 100 connections in use (newer versions),
    # which a burst of sockets reaches (measured by `make bench`: failed turns at 100
    # interviews streaming).
    pool = redis_asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_POOL_TIMEOUT_SEC,
        decode_responses=True,
        health_check_interval=30,
    )
    pool.connection_class = timely(pool.connection_class)  # redis://, rediss:// or unix://
    return _Client.from_pool(pool)


def init_redis(url: str) -> redis_asyncio.Redis:
    global _client
    _client = create_redis(url)
    return _client


def get_redis() -> redis_asyncio.Redis:
    if _client is None:
        raise RuntimeError("redis not initialised: call init_redis() first")
    return _client


_scripts: dict[str, tuple[Any, Any]] = {}  # a Lua source -> (Redis client, its script)


def script(source: str) -> Any:
    """The Lua script `source` registered with the current client: sent by its SHA, loaded by
    redis-py when the server lacks it (a restart, a flush). Not with memory://: the in-process
    Redis has no scripting."""
    client = get_redis()
    known = _scripts.get(source)
    if known is None or known[0] is not client:
        known = _scripts[source] = (client, client.register_script(source))
    return known[1]


async def close_redis() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
    _client = None
