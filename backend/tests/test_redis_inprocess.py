"""The commands HireEz sends to Redis, as the process's client answers them: in the embedded run
the in-process store of memory:// (app/core/redis_inprocess.py), in the PostgreSQL + Redis run a
Redis server through redis.asyncio. The same assertions hold for both, so the store answers as
Redis does: replies, errors, expiry, pipelines and pub/sub."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import redis.exceptions as redis_exceptions

from app.core.config import get_settings
from app.core.redis import create_redis, get_redis

pytestmark = pytest.mark.usefixtures("app")


async def test_strings_are_stored_and_read_back_as_redis_py_reads_them():
    redis = get_redis()
    assert await redis.set("t:s", "héllo") is True
    assert await redis.get("t:s") == "héllo"
    await redis.set("t:n", 5)
    await redis.set("t:f", 1.5)
    await redis.set("t:b", b"bytes")
    assert [await redis.get(k) for k in ("t:n", "t:f", "t:b", "t:missing")] == [
        "5",
        "1.5",
        "bytes",
        None,
    ]
    for bad in (True, None, [1]):
        with pytest.raises(redis_exceptions.DataError, match="Invalid input of type"):
            await redis.set("t:bad", bad)
    assert await redis.exists("t:bad") == 0  # a refused write leaves nothing behind


async def test_set_with_nx_xx_and_get():
    redis = get_redis()
    assert await redis.set("t:nx", "first", nx=True) is True
    assert await redis.set("t:nx", "second", nx=True) is None
    assert await redis.get("t:nx") == "first"
    assert await redis.set("t:xx", "v", xx=True) is None
    assert await redis.exists("t:xx") == 0
    assert await redis.set("t:nx", "third", xx=True) is True
    assert await redis.set("t:nx", "fourth", get=True) == "third"
    assert await redis.get("t:nx") == "fourth"


async def test_expiry_ttl_and_keepttl():
    redis = get_redis()
    assert await redis.ttl("t:none") == -2
    await redis.set("t:e", "v", ex=100)
    assert 99 <= await redis.ttl("t:e") <= 100
    await redis.set("t:e", "v2", keepttl=True)
    assert 99 <= await redis.ttl("t:e") <= 100
    await redis.set("t:e", "v3")  # a plain SET drops the key's TTL
    assert await redis.ttl("t:e") == -1
    await redis.set("t:e", "v4", ex=timedelta(seconds=50))
    assert 49 <= await redis.ttl("t:e") <= 50
    with pytest.raises(redis_exceptions.ResponseError, match="invalid expire time"):
        await redis.set("t:e", "v", ex=0)
    assert await redis.get("t:e") == "v4"

    assert await redis.expire("t:missing", 10) is False
    assert await redis.expire("t:e", 10) is True and 9 <= await redis.ttl("t:e") <= 10
    assert await redis.expire("t:e", 0) is True  # a TTL of zero deletes the key
    assert await redis.exists("t:e") == 0

    await redis.set("t:short", "v", px=30)
    await redis.set("t:long", "v", ex=60)
    await asyncio.sleep(0.1)
    assert await redis.get("t:short") is None
    assert await redis.exists("t:short", "t:long") == 1
    assert await redis.keys("t:*") == ["t:long"]
    assert await redis.ttl("t:short") == -2
    assert await redis.expire("t:short", 10) is False


async def test_counters():
    redis = get_redis()
    assert await redis.incr("t:c") == 1
    assert await redis.incrby("t:c", 5) == 6
    assert await redis.incr("t:c", -10) == -4
    await redis.expire("t:c", 100)
    assert await redis.incr("t:c") == -3
    assert 99 <= await redis.ttl("t:c") <= 100  # INCR keeps the TTL
    for text in ("abc", " 5", "1_0", "05", "1.0"):
        await redis.set("t:text", text)
        with pytest.raises(redis_exceptions.ResponseError, match="not an integer"):
            await redis.incr("t:text")
        assert await redis.get("t:text") == text
    await redis.set("t:big", 2**63 - 1)
    with pytest.raises(redis_exceptions.ResponseError, match="overflow"):
        await redis.incr("t:big")


async def test_delete_exists_and_getdel():
    redis = get_redis()
    await redis.set("t:a", "1")
    await redis.set("t:b", "2")
    assert await redis.exists("t:a", "t:a", "t:b", "t:missing") == 3  # counted per name given
    assert await redis.delete("t:a", "t:b", "t:missing") == 2
    assert await redis.exists("t:a", "t:b") == 0
    await redis.set("t:ticket", "payload", ex=60)
    assert await redis.getdel("t:ticket") == "payload"
    assert await redis.getdel("t:ticket") is None
    assert await redis.ttl("t:ticket") == -2


async def test_hashes_and_wrong_types():
    redis = get_redis()
    assert await redis.hset("t:h", mapping={"a": "1", "b": 2}) == 2
    assert await redis.hset("t:h", mapping={"b": b"3", "c": 4.5}) == 1  # one new field
    assert await redis.hset("t:h", "d", "x") == 1
    assert await redis.hgetall("t:h") == {"a": "1", "b": "3", "c": "4.5", "d": "x"}
    assert await redis.hgetall("t:missing") == {}
    wrong = redis_exceptions.ResponseError
    with pytest.raises(wrong, match="WRONGTYPE"):
        await redis.get("t:h")
    with pytest.raises(wrong, match="WRONGTYPE"):
        await redis.incr("t:h")
    await redis.set("t:s", "v")
    with pytest.raises(wrong, match="WRONGTYPE"):
        await redis.hset("t:s", mapping={"a": "1"})
    with pytest.raises(wrong, match="WRONGTYPE"):
        await redis.hgetall("t:s")
    await redis.expire("t:h", 100)
    assert 99 <= await redis.ttl("t:h") <= 100
    assert await redis.set("t:h", "now a string") is True  # SET replaces any type
    assert await redis.get("t:h") == "now a string" and await redis.ttl("t:h") == -1


@pytest.mark.parametrize("transaction", [True, False])
async def test_pipelines_run_every_command_and_report_errors_in_place(transaction):
    redis = get_redis()
    await redis.hset("t:h", mapping={"a": "1"})
    async with redis.pipeline(transaction=transaction) as pipe:
        pipe.set("t:p", "1", ex=60).incr("t:p")
        pipe.get("t:h")  # WRONGTYPE, at run time
        pipe.get("t:p")
        pipe.expire("t:p", 30)
        results = await pipe.execute(raise_on_error=False)
    assert results[:2] == [True, 2] and results[3:] == ["2", True]
    assert isinstance(results[2], redis_exceptions.ResponseError)
    assert "WRONGTYPE" in str(results[2])

    async with redis.pipeline(transaction=transaction) as pipe:
        pipe.get("t:h")
        pipe.set("t:after", "ran")
        with pytest.raises(redis_exceptions.ResponseError, match="WRONGTYPE"):
            await pipe.execute()
    assert await redis.get("t:after") == "ran"  # the commands after the error ran too

    async with redis.pipeline(transaction=transaction) as pipe:
        assert await pipe.execute() == []


async def test_keys_and_scan_iter_match_globs():
    redis = get_redis()
    for key in ("process:alive:a1", "process:alive:b2", "process:other", "interview:x"):
        await redis.set(key, "1", ex=60)
    await redis.hset("process:alive:h", mapping={"f": "v"})
    want = ["process:alive:a1", "process:alive:b2", "process:alive:h"]
    assert sorted(await redis.keys("process:alive:*")) == want
    assert sorted([k async for k in redis.scan_iter(match="process:alive:*")]) == want
    assert sorted(await redis.keys("process:alive:?1")) == ["process:alive:a1"]
    assert [k async for k in redis.scan_iter(match="process:*", _type="hash")] == [
        "process:alive:h"
    ]


async def test_pub_sub_between_two_clients_of_the_process():
    redis = get_redis()
    chan, chan2 = (f"t:chan:{uuid.uuid4().hex}" for _ in range(2))  # channels ignore DB numbers
    listener = create_redis(get_settings().REDIS_URL)
    pubsub = listener.pubsub()
    try:
        await pubsub.subscribe(chan, chan2)
        confirmations = [await pubsub.get_message(timeout=1.0) for _ in range(2)]
        assert [(m["type"], m["channel"], m["data"]) for m in confirmations] == [
            ("subscribe", chan, 1),
            ("subscribe", chan2, 2),
        ]
        assert await pubsub.get_message(timeout=0.05) is None  # nothing yet: a timeout
        assert await redis.publish(chan, b'{"a": 1}') == 1
        assert await redis.publish("t:nobody", "x") == 0
        message = await pubsub.get_message(timeout=1.0)
        assert message is not None
        assert (message["type"], message["channel"], message["data"]) == (
            "message",
            chan,
            '{"a": 1}',
        )
        await pubsub.unsubscribe(chan)
        unsubscribed = await pubsub.get_message(timeout=1.0)
        assert unsubscribed is not None and unsubscribed["type"] == "unsubscribe"
        assert await redis.publish(chan, "gone") == 0
        await redis.publish(chan2, "kept")
        got = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        assert got is not None and got["data"] == "kept"
    finally:
        await pubsub.aclose()
        await listener.aclose()
    assert await redis.publish(chan2, "after close") == 0


async def test_a_pipelines_error_names_the_failing_command():
    redis = get_redis()
    async with redis.pipeline() as pipe:
        pipe.set("t:x", "1").hset("t:x", mapping={"a": "b"})
        with pytest.raises(redis_exceptions.ResponseError) as raised:
            await pipe.execute()
    assert "Command # 2" in str(raised.value) and "WRONGTYPE" in str(raised.value)


async def test_keys_that_expire_unread_do_not_stay_in_memory():
    """Keys nobody reads again (a ticket never used, an interview's keys after it ended) are
    dropped once expired, not only when read."""
    redis = get_redis()
    for i in range(2000):
        await redis.set(f"t:exp:{i}", "x" * 100, px=20)
    await redis.set("t:kept", "v")
    for i in range(300):
        await redis.expire("t:kept", 60 + i)  # each renewal leaves a stale deadline behind
    await asyncio.sleep(0.1)
    await redis.set("t:next", "v", ex=60)
    assert await redis.keys("t:exp:*") == []
    if get_settings().redis_in_process:
        store = redis.store
        ours = {"t:kept", "t:next"}  # (and the test run's own claim, conftest.py)
        assert {key for key in store.data if key.startswith("t:")} == ours
        assert {key for key in store.deadlines if key.startswith("t:")} == ours
        assert len(store._heap) <= 70  # the stale deadlines are dropped as they pile up
