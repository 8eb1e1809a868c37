"""The per-interview ordered event log: `seq` allocation, local fan-out, cross-process relay.

Each process keeps one `InterviewEventLog` per interview it touches. Events that belong to the
conversation get a `seq` that strictly increases per interview across all processes: a
producer takes a block of numbers from Redis (`INCRBY interview:seq:{id}`) when it starts
producing, then numbers events without awaiting Redis. Live events reach this process's
sockets at once, in process; at most every FLUSH_INTERVAL_SEC every dirty log is flushed to
Redis in one pipeline: the resume state (`interview:state:{id}`: last seq, pending AI text)
and one PUBLISH of the batch for sockets on other processes. Nothing awaits Redis once per token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as redis_asyncio

from app.core import metrics
from app.core.config import get_settings
from app.core.redis import get_redis, script
from app.core.redis_listener import ChannelListener

logger = logging.getLogger("app.events")

PROCESS_ID = uuid.uuid4().hex[:12]
# every message this process publishes starts so (`own_message`: orjson keeps the keys' order)
OWN_BATCH_PREFIX = '{"origin":"' + PROCESS_ID + '"'
SEQ_BLOCK = 256
RECENT_EVENTS = 2048  # per interview, for replay after a snapshot
STATE_TTL_SEC = 2 * 60 * 60
STATE_TTL_RENEW_SEC = 60
NO_SEQ_TYPES = frozenset({"ping", "pong", "error", "reconnected"})

Event = dict[str, Any]


# The relay to Redis runs at most this often (not once per event-loop tick): one pipeline per
# window for every interview with news. Sockets of this process get events at once; only other
# processes' sockets and the resume state wait up to this long (`make bench`: per-tick
# pipelines took ~14 % of the loop with 100 interviews streaming on PostgreSQL + Redis).
FLUSH_INTERVAL_SEC = 0.005

PROCESS_ALIVE_SEC = 6  # a process that stops refreshing this is dead to the others
PROCESS_REFRESH_SEC = 2
LISTENER_PING_SEC = 30  # (redis-py's health check interval: app/core/redis.py)


# One flush window's relay: KEYS[i] = an interview's state key; ARGV[1] = a JSON array, per
# interview [channel, events payload ("" = none), last_seq, epoch, pending ("" = state
# unchanged; else the stream without its text), TTL (0 = leave it), text, after]. `text` is the
# stream's text so far when `after` is "", else only the pieces since this process's last
# write, whose `last_seq` was `after`: appended here if the hash still has that `last_seq`
# (nobody wrote it since), else the row's state is left as it was and its index returned, and
# the process writes its whole text at once. One JSON argument, decoded by Redis in C: packing
# seven arguments per interview was most of the relay's cost in redis-py; the text so far in
# every window, rather than what each window added, made a turn's writes grow with the square
# of its length (docs/benchmarks.md, session 21).
RELAY_SCRIPT = """
local rows = cjson.decode(ARGV[1])
local refused = {}
for i = 1, #KEYS do
  local row = rows[i]
  if row[5] ~= '' then
    local text = row[7]
    local fresh = row[8] == ''
    if not fresh then
      local had = redis.call('HMGET', KEYS[i], 'last_seq', 'text')
      if had[1] == row[8] then
        text = (had[2] or '') .. text
        fresh = true
      end
    end
    if fresh then
      redis.call('HSET', KEYS[i], 'last_seq', row[3], 'epoch', row[4], 'pending', row[5],
        'text', text)
      if row[6] > 0 then redis.call('EXPIRE', KEYS[i], row[6]) end
    else
      refused[#refused + 1] = i
    end
  end
  if row[2] ~= '' then redis.call('PUBLISH', row[1], row[2]) end
end
return refused
"""


def _relay_row(channel: str, payload: str, fields: list[str], ttl: int) -> list[Any]:
    """One interview's row of RELAY_SCRIPT: `fields` as `relay_fields` gives them (last_seq,
    epoch, pending, text, after), the TTL among them where the script reads it."""
    return [channel, payload, *fields[:3], ttl, *fields[3:]]


def own_message(**fields: Any) -> bytes:
    """A message for the other processes' listeners, marked as this process's own."""
    return orjson.dumps({"origin": PROCESS_ID, **fields})


def process_key(process_id: str) -> str:
    return f"process:alive:{process_id}"


async def process_alive(process_id: str) -> bool:
    return process_id == PROCESS_ID or bool(await get_redis().exists(process_key(process_id)))


def others_listen() -> bool:
    """Whether other processes can follow this one's events: not with an in-process Redis
    (memory://), where a PUBLISH would only reach this process's own listener, which drops its
    own batches, and where only this process reads the resume state."""
    return not get_settings().redis_in_process


def epoch_key(interview_id: int) -> str:
    return f"interview:epoch:{interview_id}"


def seq_key(interview_id: int) -> str:
    return f"interview:seq:{interview_id}"


def state_key(interview_id: int) -> str:
    return f"interview:state:{interview_id}"


def live_channel(interview_id: int) -> str:
    """Pub/sub channels ignore Redis database numbers: the number is part of the name, so
    deployments (or test runs) sharing one Redis server on different databases never mix."""
    return f"interview:live:{_redis_db()}:{interview_id}"


_db_of: tuple[object, int] | None = None  # (a Redis client, its database): one a relay row


def _redis_db() -> int:
    global _db_of
    client = get_redis()
    if _db_of is None or _db_of[0] is not client:
        pool = getattr(client, "connection_pool", None)
        db = pool.connection_kwargs.get("db", 0) if pool is not None else 0
        _db_of = (client, int(db or 0))
    return _db_of[1]


def _interview_of(channel: str) -> int:
    """The interview of a `live_channel` (the only channels the listener subscribes to)."""
    return int(channel.rpartition(":")[2])


# the relay's last write of a log's text so far: (stream_id, pieces written, last_seq written)
_Written = tuple[str, int, int]
# a relay row with a state: (its index, its log, what it writes as `_Written`)
_Mark = tuple[int, "InterviewEventLog", _Written | None]


@dataclass
class PendingStream:
    """The AI turn being generated now: what a resuming client needs to continue it."""

    stream_id: str
    kind: str
    pieces: list[str] = field(default_factory=list)
    chunk_index: int = -1

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "kind": self.kind,
            "content": "".join(self.pieces),
            "chunk_index": self.chunk_index,
        }


class Subscriber:
    """One socket's view of a log: the events (and the socket's own control frames) waiting
    for its writer, which `notify` starts. (Lists, not deques: an idle socket's queues are
    empty, and an empty deque costs ~600 bytes.)"""

    __slots__ = ("control", "events", "interview_id", "last_seq", "notify", "snapshot_due")

    def __init__(self, interview_id: int, notify: Callable[[], None]) -> None:
        self.interview_id = interview_id
        self.notify = notify  # called whenever there is something new to send
        self.events: list[Event] = []
        self.control: list[Event] = []  # ping/pong/errors for this socket: sent first
        self.last_seq: int | None = None  # events at or below it were covered by a snapshot
        self.snapshot_due = False

    def push(self, event: Event) -> None:
        self.events.append(event)
        self.notify()

    def push_control(self, frame: Event) -> None:
        self.control.append(frame)
        self.notify()

    def take_control(self) -> list[Event]:
        """The control frames to send now (all of them), oldest first."""
        frames, self.control = self.control, []
        return frames

    def request_snapshot(self) -> None:
        self.snapshot_due = True
        self.notify()

    def reset_to(self, last_seq: int, replay: list[Event]) -> None:
        """After a snapshot up to `last_seq`: drop what it covered, replay what came after."""
        self.last_seq = last_seq
        self.events = [e for e in replay if e.get("seq", 0) > last_seq]
        if self.events:
            self.notify()

    def drain(self) -> list[Event]:
        """Events to send now, oldest first, without those the snapshot already covered."""
        events, self.events = self.events, []
        out: list[Event] = []
        for event in events:
            seq = event.get("seq")
            if seq is not None and self.last_seq is not None:
                if seq <= self.last_seq:
                    continue
                self.last_seq = seq
            out.append(event)
        return out


class InterviewEventLog:
    """One interview's event log as seen by this process."""

    __slots__ = (
        "_limit",
        "_lock",
        "_next",
        "_state_dirty",
        "_state_ttl_at",
        "_unflushed",
        "_written",
        "epoch",
        "finished",
        "hub",
        "interview_id",
        "last_seq",
        "pending",
        "pending_known",
        "recent",
        "speaking",
        "subscribers",
    )

    def __init__(self, hub: EventHub, interview_id: int) -> None:
        self.hub = hub
        self.interview_id = interview_id
        self.epoch: str | None = None
        self.last_seq = 0
        self.pending: PendingStream | None = None
        self.pending_known = True  # False while following a stream whose start we missed
        self.speaking = False  # between an answer's `thinking` and its turn's end
        self.finished = False  # `ended` or `complete` seen: no socket will open on it again
        self.recent: list[Event] = []  # seq order; empty between turns (`_apply`)
        self.subscribers: set[Subscriber] = set()
        self._next = 0
        self._limit = -1  # the local block is [_next, _limit]
        self._unflushed: list[Event] = []
        self._state_dirty = False
        self._state_ttl_at = 0.0  # when the flush last renewed the state key's TTL
        # the relay's last write of the text so far: (stream_id, pieces, last_seq); None: the
        # next write is the whole text (`relay_fields`)
        self._written: _Written | None = None
        self._lock = asyncio.Lock()

    # -- producing ------------------------------------------------------------------------
    async def begin(
        self, db_max_seq: int | None = None, *, epoch: str | None = None, epoch_read: bool = False
    ) -> str:
        """Take a fresh block of seq numbers (call when this process starts producing).
        `epoch_read`: `epoch` is the log's epoch as the caller has just read it from Redis
        (None: there was none), so it is not read again (`EventHub.take_block`)."""
        async with self._lock:
            epoch, top = await self.hub.take_block(
                self.interview_id, epoch, db_max_seq, epoch_read=epoch_read
            )
            self.switch_epoch(epoch)
            self._next, self._limit = top - SEQ_BLOCK + 1, top
            return epoch

    def still_top(self, epoch: str | None, top: str | None) -> bool:
        """Whether this process may go on numbering from its block: the epoch is unchanged,
        no other process took a block after it (`top`: the seq key), and numbers are left."""
        return (
            epoch is not None
            and epoch == self.epoch
            and top is not None
            and int(top) == self._limit
            and self._next <= self._limit
        )

    def switch_epoch(self, epoch: str) -> None:
        """A new event log (Redis lost the old one): forget old seqs, re-sync every socket."""
        if epoch == self.epoch:
            return
        had_epoch = self.epoch is not None
        self.epoch = epoch
        self.last_seq = 0
        self.pending = None
        self.pending_known = True
        self.recent.clear()
        self._limit = -1
        if had_epoch:
            for sub in self.subscribers:
                sub.last_seq = 0
                sub.request_snapshot()

    async def _take_seq(self) -> int:
        seq = self.seq_now()
        if seq is None:
            await self.begin()
            seq = self.seq_now()
            assert seq is not None  # (a fresh block)
        return seq

    def seq_now(self) -> int | None:
        """The next seq of this process's block without a wait; None when the block is used
        up (then `next_seq` takes a new one: a Redis round trip)."""
        if self._next > self._limit:
            return None
        seq = self._next
        self._next += 1
        return seq

    async def next_seq(self) -> int:
        """Reserve the seq of a durable event before saving the row that carries it."""
        return await self._take_seq()

    async def publish(self, event: Event, *, seq: int | None = None) -> Event:
        """Number (unless `seq` was reserved), deliver locally now, relay on the next tick."""
        if event["type"] not in NO_SEQ_TYPES and seq is None:
            seq = await self._take_seq()
        return self.publish_now(event, seq=seq)

    def publish_now(self, event: Event, *, seq: int | None) -> Event:
        """`publish`, of an event that needs no new number: its `seq` reserved before (or
        None for a type that has none). Waits for nothing: also from a plain callback."""
        kind = event["type"]
        if kind not in NO_SEQ_TYPES:
            if seq is None:
                raise ValueError(f"a {kind} event needs its reserved seq")
            event["seq"] = seq
        self._apply(event)
        # with an in-process Redis a piece is neither relayed nor written: the flush writes the
        # resume state at turn boundaries only (`EventHub._flush`)
        if kind != "stream_chunk" or self.hub.relays:
            self._unflushed.append(event)
            self.hub.mark_dirty(self)
        self._deliver(event)
        return event

    # -- following ------------------------------------------------------------------------
    def _apply(self, event: Event) -> None:
        """Track the resume state (last seq, pending stream) from an event of any origin."""
        seq = event.get("seq")
        if seq is not None:
            if seq > self.last_seq:
                self.last_seq = seq
                self._state_dirty = True
            self.recent.append(event)
            if len(self.recent) > RECENT_EVENTS:
                del self.recent[0]
        kind = event["type"]
        if kind == "stream_chunk":  # the usual: the turn being spoken goes on
            pending = self.pending
            if pending is not None and pending.stream_id == event["stream_id"]:
                pending.pieces.append(event["content"])
                pending.chunk_index = event["chunk_index"]
            else:
                self.pending_known = False
            self._state_dirty = True
            return
        if kind in ("ended", "complete"):
            self.mark_finished()
        if kind in ("thinking", "stream_start", "transcription"):
            self.speaking = True
        elif kind in ("stream_end", "ended", "complete") or (
            kind == "error" and event.get("stream_id") is not None
        ):
            self.speaking = False
        if kind == "stream_start":
            self.pending = PendingStream(event["stream_id"], event["kind"])
            self.pending_known = True
            self._drop_audio_before(event["stream_id"])
        elif kind in ("stream_end", "ended", "complete") or (
            kind == "error" and event.get("stream_id") is not None
        ):
            self.pending = None
            self.pending_known = True
            if kind == "stream_end":
                self._drop_through(event["seq"])
            elif event.get("stream_id") is not None:
                self._drop_chunks(event["stream_id"])
        if kind.startswith("stream_") or kind in ("ended", "complete", "error"):
            self._state_dirty = True

    def mark_finished(self) -> None:
        """No socket will open on this interview again: the hub forgets the log once nothing
        here uses it (`EventHub.release_if_finished`, looked at after the next flush)."""
        if not self.finished:
            self.finished = True
            self.hub.ending.add(self)

    def _drop_through(self, seq: int) -> None:
        """A turn's `stream_end` is published after its row is saved, as every earlier durable
        event's row (answers, `transcription`) or state (the interview's status) was: a snapshot
        whose replay is taken from now on reads all of them from the database (its history is
        read after `reset_to`), and one taken earlier has its copy. So the replay buffer keeps
        nothing up to this `seq`, and is empty between turns (memory per idle interview: ~3 KiB
        less, the finished turn's text among it; `make bench`'s idle socket)."""
        self.recent = [e for e in self.recent if e["seq"] > seq]

    def _drop_chunks(self, stream_id: str) -> None:
        """A failed turn's pieces are withdrawn by its error: every snapshot from now on has a
        `last_seq` past them, so the replay buffer keeps only the turn's start."""
        self.recent = [
            e for e in self.recent if e["type"] != "stream_chunk" or e.get("stream_id") != stream_id
        ]

    def _drop_audio_before(self, stream_id: str) -> None:
        """Speech of earlier turns (tens of KiB a sentence) leaves the replay buffer when the
        next turn starts: every snapshot from now on is past it, as for finished chunks."""
        if any(e["type"] == "audio" for e in self.recent):
            self.recent = [
                e for e in self.recent if e["type"] != "audio" or e.get("stream_id") == stream_id
            ]

    def _deliver(self, event: Event) -> None:
        for sub in self.subscribers:
            sub.push(event)

    def receive_remote(self, epoch: str | None, events: list[Event]) -> None:
        if epoch and epoch != self.epoch:
            self.switch_epoch(epoch)
        for event in events:
            seq = event.get("seq")
            if seq is not None and seq <= self.last_seq:
                continue
            self._apply(event)
            self._deliver(event)
        self._state_dirty = False  # the producer owns the shared state

    def state_fields(self) -> dict[str, str]:
        pending = self.pending.as_dict() if self.pending else None
        return {
            "last_seq": str(self.last_seq),
            "epoch": self.epoch or "",
            "pending": orjson.dumps(pending).decode(),
        }

    def relay_fields(self) -> tuple[list[str], _Written | None]:
        """The resume state as the relay writes it (RELAY_SCRIPT's last_seq, epoch, pending,
        text, after), and what to remember as written once it is: the pending stream without
        its text, which goes as the pieces since the last write of the same stream (`after`:
        that write's last_seq), or whole (`after` "") when there was none."""
        pending = self.pending
        if pending is None:
            return [str(self.last_seq), self.epoch or "", "null", "", ""], None
        meta = orjson.dumps(
            {
                "stream_id": pending.stream_id,
                "kind": pending.kind,
                "chunk_index": pending.chunk_index,
            }
        ).decode()
        pieces = pending.pieces
        written = self._written
        if written is not None and written[0] == pending.stream_id and written[1] <= len(pieces):
            text, after = "".join(pieces[written[1] :]), str(written[2])
        else:
            text, after = "".join(pieces), ""
        fields = [str(self.last_seq), self.epoch or "", meta, text, after]
        return fields, (pending.stream_id, len(pieces), self.last_seq)

    def take_unflushed(self, *, every_piece: bool = True) -> tuple[list[Event], bool, bool]:
        """The events to relay, whether the resume state is to be written (False: unchanged,
        or only pieces were added and `every_piece` is off) and whether a turn boundary is
        among them."""
        events, self._unflushed = self._unflushed, []
        boundary = any(e["type"] != "stream_chunk" for e in events)
        if not self._state_dirty or not (every_piece or boundary):
            return events, False, boundary
        self._state_dirty = False
        return events, True, boundary


CONFIRMED = asyncio.Event()  # a confirmed subscription (no event of its own per interview)
CONFIRMED.set()


class EventHub:
    """Process-wide registry of event logs, the tick flusher and the pub/sub relay."""

    def __init__(self) -> None:
        self.logs: dict[int, InterviewEventLog] = {}
        # logs of interviews that have just ended: forgotten after their last flush, unless a
        # socket still follows them (then when it leaves: `unfollow_if_idle`)
        self.ending: set[InterviewEventLog] = set()
        self._dirty: set[InterviewEventLog] = set()
        self._flush_scheduled = False
        self._flush_done = asyncio.Event()
        self._flush_done.set()
        self._last_flush = float("-inf")  # loop time of the last flush's start
        self._flush_task: asyncio.Task[None] | None = None
        self._oldest_unflushed: float | None = None
        # other processes follow this one's events (not with an in-process Redis): each piece
        # goes to them, in the flush's batch
        self.relays = others_listen()
        self._channels: ChannelListener | None = None  # this process's subscriptions
        self._listener: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._subscribed: dict[int, asyncio.Event] = {}
        self._listen_redis: redis_asyncio.Redis | None = None
        # ws_connection_manager registers here: control messages (kick, cancel) for sockets
        self.on_control: Callable[[int, dict[str, Any]], None] | None = None

    def log(self, interview_id: int) -> InterviewEventLog:
        log = self.logs.get(interview_id)
        if log is None:
            log = self.logs[interview_id] = InterviewEventLog(self, interview_id)
        return log

    # -- epochs ---------------------------------------------------------------------------
    async def ensure_epoch(self, interview_id: int, db_max_seq: int | None = None) -> str:
        """The log's epoch; a missing one starts a new epoch with seq above every saved seq."""
        epoch = await get_redis().get(epoch_key(interview_id))
        if epoch:
            return str(epoch)
        epoch, _ = await self._start_epoch(interview_id, db_max_seq, take_block=False)
        return epoch

    async def take_block(
        self,
        interview_id: int,
        epoch: str | None = None,
        db_max_seq: int | None = None,
        *,
        epoch_read: bool = False,
    ) -> tuple[str, int]:
        """The log's epoch and the top of a fresh block of SEQ_BLOCK seq numbers in it.
        `epoch_read`: the caller has just read the epoch (`epoch`, None if there was none),
        so it is not read again: one round trip (and a database read when there is no
        epoch: the new one starts above every saved seq)."""
        redis, key = get_redis(), seq_key(interview_id)
        if not epoch and not epoch_read:
            epoch = str(await redis.get(epoch_key(interview_id)) or "")
        if not epoch:
            # another process that starts it first wins: the block is taken in its epoch
            return await self._start_epoch(interview_id, db_max_seq, take_block=True)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.incrby(key, SEQ_BLOCK)
            pipe.expire(key, STATE_TTL_SEC)
            top, _ = await pipe.execute()
        return str(epoch), int(top)

    async def _start_epoch(
        self, interview_id: int, db_max_seq: int | None, *, take_block: bool
    ) -> tuple[str, int]:
        """Start an epoch unless one exists (the seq key above every saved seq); the epoch,
        and with `take_block` the top of a block taken in the same transaction (else 0)."""
        if db_max_seq is None:
            from app.services.interview_session import max_saved_seq

            db_max_seq = await max_saved_seq(interview_id)
        fresh = secrets.token_hex(8)
        ttl = get_settings().SESSION_TTL_SEC
        key = seq_key(interview_id)
        async with get_redis().pipeline(transaction=True) as pipe:
            pipe.set(key, db_max_seq, nx=True, ex=ttl)
            pipe.set(epoch_key(interview_id), fresh, nx=True, ex=ttl)
            pipe.get(epoch_key(interview_id))
            if take_block:
                pipe.incrby(key, SEQ_BLOCK)
                pipe.expire(key, STATE_TTL_SEC)
            _, _, current, *block = await pipe.execute()
        if str(current) == fresh:
            logger.info("interview %s: new event-log epoch", interview_id)
        return str(current), int(block[0]) if block else 0

    async def refresh_ttl(self, interview_id: int) -> None:
        ttl = get_settings().SESSION_TTL_SEC
        async with get_redis().pipeline(transaction=False) as pipe:
            pipe.expire(epoch_key(interview_id), ttl)
            pipe.expire(seq_key(interview_id), ttl)
            await pipe.execute()

    # -- flushing -------------------------------------------------------------------------
    def mark_dirty(self, log: InterviewEventLog) -> None:
        self._dirty.add(log)
        if self._oldest_unflushed is None:
            self._oldest_unflushed = time.monotonic()
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._flush_done.clear()
            loop = asyncio.get_running_loop()
            wait = self._last_flush + FLUSH_INTERVAL_SEC - loop.time()
            if wait > 0:
                loop.call_later(wait, self._start_flush)
            else:
                loop.call_soon(self._start_flush)

    def _start_flush(self) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush_loop(), name="event-flush")

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._dirty:
            wait = self._last_flush + FLUSH_INTERVAL_SEC - loop.time()
            if wait > 0:  # more news came during the last flush: gather it a moment longer
                await asyncio.sleep(wait)
            self._last_flush = loop.time()
            batch, self._dirty = self._dirty, set()
            self._flush_scheduled = False
            oldest, self._oldest_unflushed = self._oldest_unflushed, None
            try:
                await self._flush(batch)
                if oldest is not None:
                    metrics.EVENT_FLUSH_LAG.observe(time.monotonic() - oldest)
                for log in list(self.ending) if self.ending else ():
                    if log not in self._dirty:  # what it published has reached Redis
                        self.ending.discard(log)
                        self.release_if_finished(log)
            except (
                Exception
            ):  # a Redis hiccup must not kill the live relay; sockets here still get events
                logger.exception("event-log flush failed for %d interviews", len(batch))
        self._flush_scheduled = False
        self._flush_done.set()

    async def _flush(self, logs: set[InterviewEventLog]) -> None:
        if self.relays:
            await self._relay(logs)
            return
        # in-process Redis: nobody else reads the state, and this process's own log is fresher,
        # so the text so far is written at turn boundaries only, and nothing is published.
        # Between turns there is no state at all: with nothing in flight, a snapshot takes all
        # it needs from the log (which lives as long as this process and its Redis), and the
        # hash would be ~1 KiB of this process's memory per open interview (`make bench`).
        now = time.monotonic()
        async with get_redis().pipeline(transaction=False) as pipe:
            queued = False
            for log in logs:
                _, due, boundary = log.take_unflushed(every_piece=False)
                if due:
                    key = state_key(log.interview_id)
                    if log.pending is None:
                        pipe.delete(key)
                    else:
                        pipe.hset(key, mapping=log.state_fields())  # type: ignore[arg-type]
                        if boundary or now - log._state_ttl_at > STATE_TTL_RENEW_SEC:
                            log._state_ttl_at = now
                            pipe.expire(key, STATE_TTL_SEC)
                    queued = True
            if queued:
                await pipe.execute()

    async def _relay(self, logs: set[InterviewEventLog]) -> None:
        """Every dirty log's resume state and its batch of events for the other processes, in
        ONE Redis command (a script) per window: a pipeline of HSET + PUBLISH per interview
        cost ~25 % of the loop at K = 100 streaming on PostgreSQL + Redis (`make bench`). The
        text so far goes as what each window added (RELAY_SCRIPT)."""
        now = time.monotonic()
        keys: list[str] = []
        rows: list[list[Any]] = []
        marks: list[_Mark] = []
        for log in logs:
            events, due, boundary = log.take_unflushed()
            if not events and not due:
                continue
            ttl = 0
            # the state's TTL once a minute and at every turn boundary, not once per token
            if due and (boundary or now - log._state_ttl_at > STATE_TTL_RENEW_SEC):
                log._state_ttl_at = now
                ttl = STATE_TTL_SEC
            payload = own_message(epoch=log.epoch, events=events).decode() if events else ""
            fields = ["", "", "", "", ""]
            if due:
                fields, written = log.relay_fields()
                marks.append((len(rows), log, written))
            keys.append(state_key(log.interview_id))
            rows.append(_relay_row(live_channel(log.interview_id), payload, fields, ttl))
        if keys:
            await self._write_relay(keys, rows, marks)

    async def _write_relay(
        self, keys: list[str], rows: list[list[Any]], marks: list[_Mark]
    ) -> None:
        """Run RELAY_SCRIPT (`marks`: the rows with a state, by index); then write again, whole
        and without their events, the states it refused (another process wrote them since
        this one's last write). A whole state is never refused: one retry at most."""
        try:
            refused = await script(RELAY_SCRIPT)(keys=keys, args=[orjson.dumps(rows)])
        except BaseException:
            for _, log, _ in marks:  # what reached Redis is unknown: the next write is whole
                log._written = None
            raise
        again = {int(i) - 1 for i in refused or ()}
        retry_keys: list[str] = []
        retry_rows: list[list[Any]] = []
        retry_marks: list[_Mark] = []
        for index, log, written in marks:
            log._written = None if index in again else written
            if index in again:
                fields, written = log.relay_fields()  # (whole: `_written` is None)
                retry_marks.append((len(retry_rows), log, written))
                retry_keys.append(keys[index])
                retry_rows.append(_relay_row(rows[index][0], "", fields, rows[index][5]))
        if retry_rows:
            await self._write_relay(retry_keys, retry_rows, retry_marks)

    async def flushed(self) -> None:
        """Wait until everything published so far has reached Redis."""
        while not self._flush_done.is_set() or self._dirty:
            await self._flush_done.wait()
            await asyncio.sleep(0)

    # -- following other processes ----------------------------------------------------------
    async def start(self) -> None:
        from app.core.redis import create_redis

        if self.relays:  # else nothing is published (in-process Redis): nothing to follow
            self._listen_redis = create_redis(get_settings().REDIS_URL)
            self._channels = ChannelListener(
                self._listen_redis, self._on_message, self._on_subscribed
            )
            await self._channels.connect()  # (Redis out of reach: the start fails)
            self._listener = asyncio.create_task(self._channels.run(), name="event-listener")
        self._heartbeat = asyncio.create_task(self._beat(), name="process-alive")

    async def _beat(self) -> None:
        """Keep `process:alive:{PROCESS_ID}` fresh so others can tell this process is alive;
        and write to the listener's connection now and then (a PING, answered as a message it
        skips), which its blocking read never does, so that a connection gone dead while
        quiet fails and is made again, as redis-py's health check would."""
        pinged = 0.0
        while True:
            try:
                await get_redis().set(process_key(PROCESS_ID), "1", ex=PROCESS_ALIVE_SEC)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("process liveness refresh failed")
            now = time.monotonic()
            if self._channels is not None and now - pinged >= LISTENER_PING_SEC:
                pinged = now
                try:
                    await self._channels.ping()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the listener's read fails too, and connects again
                    logger.warning("event listener: ping failed", exc_info=True)
            await asyncio.sleep(PROCESS_REFRESH_SEC)

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            with contextlib.suppress(Exception):
                await get_redis().delete(process_key(PROCESS_ID))
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._channels is not None:
            with contextlib.suppress(Exception):
                await self._channels.aclose()
        if self._listen_redis is not None:
            with contextlib.suppress(Exception):
                await self._listen_redis.aclose()
        await self.flushed()
        self._listener = self._channels = self._listen_redis = self._heartbeat = None
        self.logs.clear()
        self.ending.clear()
        self._subscribed.clear()

    async def forget_all(self) -> None:
        """Drop every log and live subscription (tests: a fresh process between tests)."""
        await self.flushed()
        for interview_id in list(self._subscribed):
            self.logs.pop(interview_id, None)
            await self.unfollow_if_idle(interview_id)
        self.logs.clear()
        self.ending.clear()

    async def follow(self, interview_id: int) -> None:
        """Subscribe this process to an interview's live channel; returns once confirmed."""
        ready = self._subscribed.get(interview_id)
        if ready is None:
            if self._channels is None:
                ready = self._subscribed[interview_id] = CONFIRMED
            else:
                ready = self._subscribed[interview_id] = asyncio.Event()
                await self._channels.subscribe(live_channel(interview_id))
        if not ready.is_set():  # (`wait_for` runs its wait as a task: two loop iterations more)
            await asyncio.wait_for(ready.wait(), timeout=5)

    def finish(self, log: InterviewEventLog) -> None:
        """The interview has ended for good without an event saying so (a cancel): its log
        goes as an ended interview's does."""
        log.mark_finished()
        self.release_if_finished(log)

    def release_if_finished(self, log: InterviewEventLog) -> None:
        """Forget the log of an interview that has ended once nothing here uses it any more:
        no socket of this process follows it and everything it published has been flushed.
        A finished interview refuses every new socket (4003), so nobody will read it again,
        and a process would otherwise keep a log (~630 bytes) for every interview it ever
        served until it restarts (docs/benchmarks.md). An event published after this (a turn
        still winding down) goes to the old object, as before, and is flushed as before."""
        if (
            log.finished
            and not log.subscribers
            and not log._unflushed
            and log not in self._dirty
            and self.logs.get(log.interview_id) is log
        ):
            del self.logs[log.interview_id]
            self.ending.discard(log)  # (a follower's: it flushes nothing of its own)

    async def unfollow_if_idle(self, interview_id: int) -> None:
        log = self.logs.get(interview_id)
        if log is not None and log.subscribers:
            return
        if log is not None:
            self.release_if_finished(log)
        if self._subscribed.pop(interview_id, None) is not None and self._channels is not None:
            with contextlib.suppress(Exception):
                await self._channels.unsubscribe(live_channel(interview_id))

    def _on_subscribed(self, channel: str) -> None:
        interview_id = _interview_of(channel)
        ready = self._subscribed.get(interview_id)
        if ready is not None and not ready.is_set():
            ready.set()  # wakes `follow`; then one shared event stands for "confirmed"
            self._subscribed[interview_id] = CONFIRMED

    def _on_message(self, channel: str, data: str) -> None:
        """A batch on a followed interview's channel (ChannelListener's reader)."""
        if data.startswith(OWN_BATCH_PREFIX):
            return  # this process's own message, back from Redis: nothing to decode
        interview_id = _interview_of(channel)
        if interview_id not in self._subscribed:
            return  # (unfollowed since it was sent)
        try:
            batch = orjson.loads(data)
        except orjson.JSONDecodeError:
            batch = None
        if not isinstance(batch, dict):
            logger.warning("event listener: undecodable batch on %s", channel)
            return
        control = batch.get("control")
        if control is not None:
            if self.on_control is not None:
                self.on_control(interview_id, control)
            return
        log = self.logs.get(interview_id)
        if log is not None:
            log.receive_remote(batch.get("epoch"), batch.get("events", []))

    async def send_control(self, interview_id: int, control: dict[str, Any]) -> None:
        """Tell the other processes something about an interview's sockets (kick, cancel)."""
        if self.relays:
            async with get_redis().pipeline(transaction=False) as pipe:
                self.queue_control(pipe, interview_id, control)
                await pipe.execute()

    @staticmethod
    def queue_control(pipe: Any, interview_id: int, control: dict[str, Any]) -> None:
        """`send_control` as a command of the caller's pipeline (none when no other process
        listens)."""
        if not others_listen():
            return
        payload = own_message(control=control)
        pipe.publish(live_channel(interview_id), payload)

    async def shared_state(
        self, interview_id: int
    ) -> tuple[int, dict[str, Any] | None, str | None]:
        """(last_seq, pending stream, epoch) as last flushed to Redis by any process."""
        raw = await get_redis().hgetall(state_key(interview_id))
        if not raw:
            return 0, None, None
        pending = orjson.loads(raw.get("pending", "null"))
        if isinstance(pending, dict) and "content" not in pending:  # the relay's: text apart
            pending["content"] = raw.get("text", "")
        epoch = raw.get("epoch")
        return int(raw.get("last_seq", 0)), pending, str(epoch) if epoch else None


_hub: EventHub | None = None


def get_hub() -> EventHub:
    global _hub
    if _hub is None:
        _hub = EventHub()
    return _hub


def reset_hub() -> None:
    global _hub
    _hub = None
