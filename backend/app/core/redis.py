"""One Redis client factory: redis.asyncio for redis://, fakeredis for memory://."""

from __future__ import annotations

from typing import Any

import redis.asyncio as redis_asyncio

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
            server=_fake_server, decode_responses=True
        )
        return client
    return redis_asyncio.Redis.from_url(url, decode_responses=True, health_check_interval=30)


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
