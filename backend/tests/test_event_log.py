"""The event log: what its replay buffer keeps, when a seq block is kept, how often it
reaches Redis."""

from __future__ import annotations

import asyncio
import logging

import orjson

from app.core import metrics
from app.core.config import get_settings
from app.core.redis import create_redis, get_redis
from app.services.interview_events import (
    PROCESS_ID,
    SEQ_BLOCK,
    epoch_key,
    get_hub,
    live_channel,
    others_listen,
    seq_key,
    state_key,
)
from tests.support.aio import suspensions


async def test_a_finished_turn_leaves_the_replay_buffer_and_its_speech_the_next_turn(app):
    """Between turns the replay buffer is empty: a saved turn's events (and the answer's before
    it) are in the database a snapshot reads; a failed turn's pieces go, its start stays."""
    log = get_hub().log(424242)
    await log.begin(db_max_seq=0)
    await log.publish({"type": "thinking"})
    await log.publish({"type": "stream_start", "stream_id": "s0", "kind": "response"})
    await log.publish({"type": "stream_chunk", "stream_id": "s0", "chunk_index": 0, "content": "a"})
    await log.publish({"type": "error", "code": "AI_UNAVAILABLE", "stream_id": "s0"})
    assert [e["type"] for e in log.recent] == ["thinking", "stream_start"]
    await log.publish({"type": "stream_start", "stream_id": "s1", "kind": "response"})
    for i in range(5):
        await log.publish(
            {"type": "stream_chunk", "stream_id": "s1", "chunk_index": i, "content": f"w{i} "}
        )
    assert log.pending is not None and log.pending.as_dict()["content"] == "w0 w1 w2 w3 w4 "
    kinds = [e["type"] for e in log.recent]
    assert kinds == ["thinking", "stream_start", "stream_start"] + ["stream_chunk"] * 5
    end = await log.publish({"type": "stream_end", "stream_id": "s1", "content": "w0 w1 w2 w3 w4 "})
    assert log.recent == [] and log.last_seq == end["seq"] and log.pending is None
    for i in range(3):
        await log.publish({"type": "audio", "stream_id": "s1", "index": i, "data": "x" * 1000})
    assert [e["type"] for e in log.recent] == ["audio", "audio", "audio"]
    await log.publish({"type": "stream_start", "stream_id": "s2", "kind": "response"})
    assert [e["type"] for e in log.recent] == ["stream_start"]
    assert log.last_seq == log.recent[-1]["seq"]


async def test_a_producer_keeps_its_seq_block_only_while_nobody_took_a_later_one(app):
    """A turn goes on numbering from this process's block (no Redis round trip) only when the
    epoch is unchanged, no other process took a block since, and numbers are left."""
    iid = 424243
    hub = get_hub()
    log = hub.log(iid)
    epoch = await log.begin(db_max_seq=0)
    redis = get_redis()

    async def position() -> tuple[str | None, str | None]:
        return await redis.get(epoch_key(iid)), await redis.get(seq_key(iid))

    assert log.still_top(*await position())
    first = (await log.publish({"type": "thinking"}))["seq"]
    assert log.still_top(*await position())
    await redis.incrby(seq_key(iid), SEQ_BLOCK)  # another process took the next block
    assert not log.still_top(*await position())
    await log.begin()
    later = (await log.publish({"type": "thinking"}))["seq"]
    assert later > first + SEQ_BLOCK  # above every number the other process may use
    assert log.still_top(*await position())
    assert not log.still_top("another-epoch", (await position())[1])  # Redis lost the log
    assert not log.still_top(None, None)
    assert log.epoch == epoch
    log._next = log._limit + 1  # the block is used up
    assert not log.still_top(*await position())


def _flushes() -> float:
    return sum(
        s.value
        for metric in metrics.EVENT_FLUSH_LAG.collect()
        for s in metric.samples
        if s.name.endswith("_count")
    )


async def test_events_of_many_loop_ticks_reach_redis_in_one_flush_per_window(app):
    """One Redis pipeline per FLUSH_INTERVAL_SEC at most, not one per event-loop tick: twenty
    pieces published on twenty ticks (well within one window) are flushed once or twice. With
    the in-process Redis a piece is neither relayed nor written (the state is written at turn
    boundaries): pieces alone start no flush at all."""
    log = get_hub().log(424244)
    await log.begin(db_max_seq=0)
    await log.publish({"type": "stream_start", "stream_id": "s1", "kind": "response"})
    await get_hub().flushed()
    before = _flushes()
    for i in range(20):
        await log.publish(
            {"type": "stream_chunk", "stream_id": "s1", "chunk_index": i, "content": f"w{i} "}
        )
        await asyncio.sleep(0)  # a loop tick between pieces, as when tokens arrive
    await get_hub().flushed()
    if others_listen():
        assert 1 <= _flushes() - before <= 3
    else:
        assert _flushes() == before
    # and what was flushed is the whole state: every piece is in the resume state
    await log.publish({"type": "stream_end", "stream_id": "s1", "content": "done"})
    await get_hub().flushed()
    if others_listen():
        last_seq, pending, _ = await get_hub().shared_state(424244)
        assert last_seq == log.last_seq and pending is None
    else:  # in-process Redis: between turns the log alone is the resume state (no hash)
        assert not await get_redis().exists(state_key(424244))


async def test_the_relay_carries_every_event_and_the_text_so_far_to_other_processes(app):
    """Each window's relay (one script call with real Redis) publishes the batch for sockets
    on other processes and writes the resume state with the whole text so far; with the
    in-process Redis nobody else listens: nothing is published, the state is written at turn
    boundaries."""
    iid = 424245
    listener = create_redis(get_settings().REDIS_URL)
    pubsub = listener.pubsub()
    await pubsub.subscribe(live_channel(iid))
    try:
        log = get_hub().log(iid)
        await log.begin(db_max_seq=0)
        await log.publish({"type": "stream_start", "stream_id": "s2", "kind": "response"})
        for i in range(5):
            await log.publish(
                {"type": "stream_chunk", "stream_id": "s2", "chunk_index": i, "content": f"w{i} "}
            )
            await asyncio.sleep(0.002)
        await get_hub().flushed()
        last_seq, pending, epoch = await get_hub().shared_state(iid)
        relayed: list[dict] = []
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if message is not None:
                batch = orjson.loads(message["data"])
                assert batch["origin"] == PROCESS_ID and batch["epoch"] == log.epoch
                relayed += batch["events"]
        if others_listen():
            assert [e["seq"] for e in relayed] == list(range(log.last_seq - 5, log.last_seq + 1))
            assert (last_seq, epoch) == (log.last_seq, log.epoch)
            assert pending == {
                "stream_id": "s2",
                "kind": "response",
                "content": "w0 w1 w2 w3 w4 ",
                "chunk_index": 4,
            }
        else:
            assert relayed == []
            # written with the window of the turn's start, not since: a stale prefix
            assert pending is not None and pending["stream_id"] == "s2"
            assert "w0 w1 w2 w3 w4 ".startswith(pending["content"])
            assert pending["chunk_index"] < 4
    finally:
        await pubsub.aclose()
        await listener.aclose()


async def _stream_in_windows(log, stream_id: str, pieces: list[str], first: int = 0) -> None:
    """Publish `pieces` of a stream, each in a relay window of its own."""
    for i, piece in enumerate(pieces, first):
        await log.publish(
            {"type": "stream_chunk", "stream_id": stream_id, "chunk_index": i, "content": piece}
        )
        await asyncio.sleep(0.006)  # past FLUSH_INTERVAL_SEC: the next piece, the next window
    await get_hub().flushed()


async def _redis_bytes_in() -> int:
    """What Redis has received from all its clients (0 for the in-process one: no network)."""
    if not others_listen():
        return 0
    return int((await get_redis().info("stats"))["total_net_input_bytes"])


async def test_the_relay_writes_what_each_window_added_to_the_text_not_all_of_it(app):
    """The resume state's text grows by what each window added: a turn's writes to Redis grow
    with its length, not its square (the whole text so far in every window: 150 pieces of 20
    characters sent ~225 KB of text, where the pieces are 3 KB). The state read back is the
    whole text all the same."""
    iid = 424246
    log = get_hub().log(iid)
    await log.begin(db_max_seq=0)
    await log.publish({"type": "stream_start", "stream_id": "s3", "kind": "response"})
    pieces = [f"{i:03d}-twenty-chars.. " for i in range(150)]
    before = await _redis_bytes_in()
    await _stream_in_windows(log, "s3", pieces)
    sent = await _redis_bytes_in() - before
    last_seq, pending, _ = await get_hub().shared_state(iid)
    if others_listen():
        assert sent < 100_000, sent  # ~150 windows of one piece, its event and the state
        assert last_seq == log.last_seq
        assert pending == {
            "stream_id": "s3",
            "kind": "response",
            "content": "".join(pieces),
            "chunk_index": 149,
        }
    else:  # in-process Redis: the state is written at turn boundaries only (here the
        # window of the stream's start, which its first piece shared)
        assert pending is not None and "".join(pieces).startswith(pending["content"])
        assert pending["chunk_index"] < 149


async def test_a_state_another_process_wrote_meanwhile_is_written_whole_again(app):
    """Another process wrote the interview's state after this one's last window (a takeover,
    a REST call that ended it): the pieces since are not added to that process's text, the
    whole text so far is written instead."""
    iid = 424247
    log = get_hub().log(iid)
    await log.begin(db_max_seq=0)
    await log.publish({"type": "stream_start", "stream_id": "s4", "kind": "response"})
    await _stream_in_windows(log, "s4", ["one ", "two "])
    other = {"last_seq": "999999", "epoch": log.epoch or "", "pending": "null", "text": "X"}
    await get_redis().hset(state_key(iid), mapping=other)  # type: ignore[arg-type]
    await _stream_in_windows(log, "s4", ["three ", "four "], first=2)
    _, pending, _ = await get_hub().shared_state(iid)
    if others_listen():
        assert pending is not None and pending["content"] == "one two three four "
        assert pending["chunk_index"] == 3
    else:  # in-process Redis: nothing written mid-turn, the other write stands
        assert pending is None


class _Follower:
    """A socket's subscription, as far as the log sees one: it is pushed every event."""

    def __init__(self) -> None:
        self.got: list[str] = []

    def push(self, event: dict[str, object]) -> None:
        self.got.append(str(event["type"]))


async def test_an_ended_interviews_log_stays_while_a_socket_follows_it_or_news_is_unflushed(app):
    """The log of an interview that has ended is forgotten only when no socket of this
    process follows it and all it published has been flushed; one in progress is kept."""
    hub = get_hub()
    ended, live = hub.log(424250), hub.log(424251)
    for log in (ended, live):
        await log.begin(db_max_seq=0)
    follower = _Follower()
    ended.subscribers.add(follower)
    await ended.publish({"type": "ended", "content": "The interview has ended."})
    await live.publish({"type": "thinking"})
    hub.release_if_finished(ended)
    assert hub.logs.get(424250) is ended  # not flushed yet, and followed
    await hub.flushed()
    assert hub.logs.get(424250) is ended  # flushed, still followed
    assert follower.got == ["ended"]
    ended.subscribers.discard(follower)
    await hub.unfollow_if_idle(424250)
    assert 424250 not in hub.logs
    hub.release_if_finished(live)
    await hub.unfollow_if_idle(424251)
    assert hub.logs.get(424251) is live  # not ended: kept

    # ended with nobody following: gone after its flush, with the flush that carried it
    await hub.log(424252).begin(db_max_seq=0)
    await hub.log(424252).publish({"type": "complete", "content": "Thank you."})
    assert 424252 in hub.logs
    await hub.flushed()
    assert 424252 not in hub.logs

    # a follower's log (the events came from another process, nothing is flushed here): it
    # goes when its last socket leaves, and is not kept for a flush that may never come
    followed = hub.log(424253)
    watcher = _Follower()
    followed.subscribers.add(watcher)
    followed.receive_remote(None, [{"type": "ended", "seq": 7, "content": "Ended."}])
    assert watcher.got == ["ended"] and followed in hub.ending
    followed.subscribers.discard(watcher)
    await hub.unfollow_if_idle(424253)
    assert 424253 not in hub.logs and followed not in hub.ending


class _RoundTrips:
    """Round trips to Redis from here on by the calling task: connections it took from the
    pool (one a command or pipeline; not the process's own, such as the liveness beat's every
    `PROCESS_REFRESH_SEC`, which may fall within a wait here), or with the in-process store
    the commands and pipelines it ran (which never suspend: nobody else runs meanwhile)."""

    def __init__(self, redis, monkeypatch) -> None:
        self.redis, self.taken = redis, 0
        if not get_settings().redis_in_process:
            pool = redis.connection_pool
            take = pool.get_connection
            caller = asyncio.current_task()

            async def counted(*args, **kwargs):
                if asyncio.current_task() is caller:
                    self.taken += 1
                return await take(*args, **kwargs)

            monkeypatch.setattr(pool, "get_connection", counted)
        self.reset()

    def _so_far(self) -> int:
        return self.redis.calls if get_settings().redis_in_process else self.taken

    def reset(self) -> None:
        self.start = self._so_far()

    @property
    def count(self) -> int:
        return self._so_far() - self.start


async def test_a_seq_block_takes_one_round_trip_and_a_new_epoch_is_started_once(app, monkeypatch):
    """A turn that has just read the log's epoch (its first pipeline does) takes its block in
    one round trip; with no epoch yet, starting one and taking the block are one transaction,
    and a process that also found none takes its block in the epoch started first."""
    iid = 424245
    hub, redis = get_hub(), get_redis()
    trips = _RoundTrips(redis, monkeypatch)
    epoch, top = await hub.take_block(iid, None, db_max_seq=500, epoch_read=True)
    assert trips.count == 1 and top == 500 + SEQ_BLOCK  # above every saved seq
    again, second = await hub.take_block(iid, None, db_max_seq=7, epoch_read=True)
    assert again == epoch and second == top + SEQ_BLOCK
    trips.reset()
    same, third = await hub.take_block(iid, epoch, epoch_read=True)
    assert trips.count == 1 and same == epoch and third == second + SEQ_BLOCK
    assert await redis.ttl(seq_key(iid)) > 0
    trips.reset()
    same, fourth = await hub.take_block(iid)  # nothing read: the epoch is read first
    assert trips.count == 2 and same == epoch and fourth == third + SEQ_BLOCK


async def test_following_a_followed_interview_takes_no_loop_iteration(app):
    """An interview this process already follows (its subscription confirmed), or any with the
    in-process Redis, where nothing is published and there is nothing to subscribe to: every
    socket's open follows its interview, without waiting for the loop."""
    hub = get_hub()
    if others_listen():
        await hub.follow(424260)  # the first follow of a process waits for Redis's confirmation
    else:
        assert hub._channels is None  # no listener, no subscription
    for _ in range(3):
        box = [0]
        await suspensions(hub.follow(424260), box)
        assert box[0] == 0
    await hub.unfollow_if_idle(424260)


async def test_the_listener_reads_batches_without_a_timer_each(app, monkeypatch):
    """Another process's batches reach this one's log through a blocking read: with a
    timeout, redis-py arms a timer for every message, ~one a model token at load
    (`bench/calls.py`). Its connection is pinged by the heartbeat instead. Nor does a message
    go through redis-py's default push handler, which looks its logger up each time."""
    hub = get_hub()
    if not others_listen():  # in-process Redis: nothing is published, nobody listens
        assert hub._listener is None and hub._channels is None
        return
    from redis.asyncio.connection import AbstractConnection

    timeouts: list[object] = []
    read_response = AbstractConnection.read_response

    async def recording(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        task = asyncio.current_task()
        if task is not None and task.get_name() == "event-listener":
            timeouts.append(kwargs.get("timeout"))
        return await read_response(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "read_response", recording)
    logged: list[str] = []  # redis-py's default push handler logs each message
    debug = logging.Logger.debug

    def logging_debug(self: logging.Logger, msg: object, *args: object, **kw: object) -> None:
        task = asyncio.current_task() if asyncio._get_running_loop() else None
        if task is not None and task.get_name() == "event-listener":
            logged.append(str(msg))
        debug(self, msg, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(logging.Logger, "debug", logging_debug)
    iid = 424260
    log = hub.log(iid)
    await hub.follow(iid)
    other = create_redis(get_settings().REDIS_URL)
    try:
        for seq in range(1, 6):
            event = {"type": "thinking", "seq": seq}
            batch = {"origin": "another-process", "epoch": "e1", "events": [event]}
            await other.publish(live_channel(iid), orjson.dumps(batch))
        for _ in range(200):
            if log.last_seq == 5:
                break
            await asyncio.sleep(0.01)
    finally:
        await other.aclose()
    assert log.last_seq == 5
    assert len(timeouts) >= 5
    assert all(t == float("inf") for t in timeouts), timeouts
    assert logged == []


async def test_the_listener_connects_again_and_follows_what_it_followed(app, caplog):
    """Redis closed the listener's connection (a restart, a proxy's idle cut, CLIENT KILL):
    it connects again, subscribes to the interviews it followed, and another process's batches
    reach their log again."""
    hub = get_hub()
    listener = hub._channels
    if not others_listen():  # in-process Redis: nothing is published, nobody listens
        assert listener is None
        return
    assert listener is not None
    iid = 424261
    log = hub.log(iid)
    await hub.follow(iid)
    before = listener.reconnects
    caplog.set_level(logging.INFO, logger="app.redis_listener")
    host, port = listener._connection._writer.get_extra_info("sockname")[:2]
    await get_redis().execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}")
    other = create_redis(get_settings().REDIS_URL)
    try:
        for seq in range(1, 100):  # until one gets through (published while away: missed)
            event = {"type": "thinking", "seq": seq}
            batch = {"origin": "another-process", "epoch": "e2", "events": [event]}
            await other.publish(live_channel(iid), orjson.dumps(batch))
            await asyncio.sleep(0.05)
            if log.last_seq:
                break
    finally:
        await other.aclose()
    assert listener.reconnects == before + 1
    assert "redis listener: connected again" in caplog.text
    assert log.last_seq > 0 and log.epoch == "e2"
    await hub.unfollow_if_idle(iid)
