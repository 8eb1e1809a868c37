"""Whether an interview's candidate socket is live: the Redis owner key (DESIGN.md, Redis keys).

The WebSocket layer writes `interview:owner:{id}` and refreshes it from its heartbeat; this
module is the one place that reads it, so the key's format can change in one place.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as redis_asyncio

OWNER_KEY = "interview:owner:{interview_id}"


def owner_key(interview_id: int) -> str:
    return OWNER_KEY.format(interview_id=interview_id)


async def is_candidate_connected(redis: redis_asyncio.Redis, interview_id: int) -> bool:
    """True while a candidate socket owns the interview (on any process)."""
    return bool(await redis.exists(owner_key(interview_id)))


async def connected_interviews(
    redis: redis_asyncio.Redis, interview_ids: Iterable[int]
) -> set[int]:
    """The subset of `interview_ids` with a live candidate socket, in one round trip."""
    ids = list(interview_ids)
    if not ids:
        return set()
    async with redis.pipeline(transaction=False) as pipe:
        for interview_id in ids:
            pipe.exists(owner_key(interview_id))
        found = await pipe.execute()
    return {interview_id for interview_id, hit in zip(ids, found, strict=True) if hit}
