"""One Redis client factory: redis.asyncio for redis://, fakeredis for memory://."""

from __future__ import annotations

from typing import Any

import redis.asyncio as redis_asyncio

REDIS_MAX_CONNECTIONS = 128  # per client (process); commands hold one only for a round trip
REDIS_POOL_TIMEOUT_SEC = 20.0

_fake_server: Any = None
_client: redis_asyncio.Redis | None = None


def create_redis(url: str) -> redis_asyncio.Redis:
    """A client for `url`; every memory:// client of this process shares one fake server."""
    if url.startswith("memory://"):
        import fakeredis

        global _fake_server
        if _fake_server is None:
            _fake_server = fakeredis.FakeServer()
        client: redis_asyncio.Redis = fakeredis.FakeAsyncRedis(
            server=_fake_server,
            decode_responses=True,
            connection_pool_class=redis_asyncio.BlockingConnectionPool,
            max_connections=REDIS_MAX_CONNECTIONS,
            timeout=REDIS_POOL_TIMEOUT_SEC,
        )
        return client
    # A bounded pool that waits for a free connection (also for memory:// above): redis-py's
    # default pool raises MaxConnectionsError past 100 connections in use (newer versions),
    # which a burst of sockets reaches (measured by `make bench`: failed turns at 100
    # interviews streaming).
    pool = redis_asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_POOL_TIMEOUT_SEC,
        decode_responses=True,
        health_check_interval=30,
    )
    return redis_asyncio.Redis.from_pool(pool)


def init_redis(url: str) -> redis_asyncio.Redis:
    global _client
    _client = create_redis(url)
    return _client


def get_redis() -> redis_asyncio.Redis:
    if _client is None:
        raise RuntimeError("redis not initialised: call init_redis() first")
    return _client


async def close_redis() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
    _client = None
