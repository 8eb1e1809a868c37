"""The process's Redis client under a burst: more commands in flight than pooled connections
wait for one (bounded pool), none fails with "Too many connections" — for redis:// and for the
in-process memory:// alike (`make bench` met both at 100 interviews streaming)."""

from __future__ import annotations

import asyncio

from app.core.redis import REDIS_MAX_CONNECTIONS, get_redis


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
    assert redis.connection_pool.max_connections == REDIS_MAX_CONNECTIONS
