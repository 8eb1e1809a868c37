"""The process's Redis client under a burst: more commands in flight than pooled connections
wait for one (bounded pool), none fails with "Too many connections" (`make bench` met it at 100
interviews streaming); the in-process memory:// store has no connections to run out of, and
takes the same burst."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.exceptions as redis_exceptions
from redis.asyncio.connection import Connection

from app.core.config import get_settings
from app.core.redis import REDIS_MAX_CONNECTIONS, get_redis, release_at_once, timely
from tests.support.aio import suspensions


async def test_a_burst_past_the_pool_size_waits_instead_of_failing():
    redis = get_redis()
    burst = 3 * REDIS_MAX_CONNECTIONS

    async def one(i: int) -> list[object]:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set(f"test:pool:{i}", i, ex=60)
            pipe.get(f"test:pool:{i}")
            return await pipe.execute()

    results = await asyncio.gather(*(one(i) for i in range(burst)))
    assert [r[1] for r in results] == [str(i) for i in range(burst)]
    if not get_settings().redis_in_process:
        assert redis.connection_pool.max_connections == REDIS_MAX_CONNECTIONS


async def test_a_command_suspends_only_for_its_reply():
    """redis-py bounds a command's write by `asyncio.wait_for`, which on Python 3.11 runs the
    write in a task of its own that the command waits for (three loop iterations more). The
    in-process Redis answers without suspending at all; a command to a Redis server waits once,
    for its reply."""
    redis = get_redis()
    await redis.set("test:waits", "1", ex=60)
    waits = 0 if get_settings().redis_in_process else 1
    for _ in range(20):
        box = [0]
        assert await suspensions(redis.get("test:waits"), box) == "1"
        assert box[0] == waits


async def test_a_pipeline_suspends_only_for_its_reply():
    """redis-py's pipeline gives its connection back through `asyncio.shield`, a task of its
    own that the pipeline waits for (three loop iterations after the reply); here the release
    runs at once."""
    redis = get_redis()
    waits = 0 if get_settings().redis_in_process else 1

    async def incr_and_expire() -> list[Any]:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.incr("test:waits:n")
            pipe.expire("test:waits:n", 60)
            return await pipe.execute()

    for i in range(20):
        box = [0]
        assert await suspensions(incr_and_expire(), box) == [i + 1, True]
        assert box[0] == waits


class _SlowPool:
    """A pool whose release has to wait (its lock is busy) until `free` is set."""

    def __init__(self) -> None:
        self.free = asyncio.Event()
        self.released: list[str] = []

    async def release(self, connection: str) -> None:
        await self.free.wait()
        self.released.append(connection)


async def test_a_release_that_waits_is_finished_even_when_its_caller_is_cancelled():
    """What redis-py's shield is for: a cancel while the pool's bookkeeping is mid-update must
    not split it. A release that has to wait goes on, shielded, after its caller is gone."""
    pool = _SlowPool()
    caller = asyncio.create_task(release_at_once(pool, "conn-1"))
    await asyncio.sleep(0.01)
    assert not caller.done() and pool.released == []
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    pool.free.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert pool.released == ["conn-1"]

    pool.free.set()  # and a release that need not wait is done before the call returns
    await release_at_once(pool, "conn-2")
    assert pool.released == ["conn-1", "conn-2"]


async def test_a_write_that_hangs_still_times_out_and_drops_the_connection():
    """The write's bound (`socket_timeout`) holds: a write that never drains fails as redis-py's
    TimeoutError, the connection is dropped, and the bound is unchanged for its next use."""
    in_process = get_settings().redis_in_process
    if in_process:  # the wrapper on a client of a Redis server, its socket one that never reads
        server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
        conn = timely(Connection)()
        conn._reader, conn._writer = await asyncio.open_connection(
            *server.sockets[0].getsockname()[:2]
        )
    else:
        conn = await get_redis().connection_pool.get_connection()
    try:
        conn.socket_timeout = 0.05

        async def never() -> None:
            await asyncio.sleep(3600)

        conn._writer.drain = never  # the socket's buffer stays full
        with pytest.raises(redis_exceptions.TimeoutError):
            await conn.send_packed_command(conn.pack_command("PING"))
        assert not conn.is_connected and conn.socket_timeout == 0.05
    finally:
        conn.socket_timeout = 5
        if in_process:
            server.close()
        else:
            await get_redis().connection_pool.release(conn)
    assert await get_redis().ping()  # the pool goes on with a fresh connection
