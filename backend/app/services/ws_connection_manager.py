"""This process's interview sockets, and the rules that span processes.

One live candidate socket per interview across all processes: the owner is the Redis key
`interview:owner:{id}` (refreshed by the socket's heartbeat); a newer socket takes it and
tells the others (locally at once, elsewhere over the interview's live channel) to close
with 4009. AI turns run as tasks owned by the app, not by a socket: a dropped socket stops
only its own writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from starlette.types import Send
from starlette.websockets import WebSocket

from app.core.aio import start_here
from app.core.config import get_settings
from app.core.redis import get_redis
from app.services.interview_conductor_service import ConductorError
from app.services.interview_events import Event, Subscriber, get_hub
from app.services.lifecycle import spawn
from app.services.ws_presence import owner_key

logger = logging.getLogger("app.ws")

CLOSE_REPLACED = 4009
CLOSE_HEARTBEAT_TIMEOUT = 4008
CLOSE_SERVICE_RESTART = 1012
CLOSE_INVALID_STATE = 4003


class Connection:
    """One accepted socket: candidate (`observer=False`) or read-only observer.

    Its writer (`write`, app/api/v1/websocket.py) runs only while there is something to send:
    news starts it, it ends once all is sent, so an idle socket has no writer task (memory per
    idle socket). When the writer has closed the socket, or a send failed, it calls
    `stop_reading`, which ends the socket's read (its own task)."""

    __slots__ = (
        "asgi_send",
        "client_close_code",
        "close_code",
        "dispatcher",
        "finished",
        "id",
        "inbox",
        "interview_id",
        "last_heard",
        "next_ping",
        "observer",
        "reader_idle",
        "stop_reading",
        "streaming",
        "sub",
        "turn_checked",
        "user_id",
        "voice",
        "watch_turn",
        "websocket",
        "write",
        "write_ended",
        "writer",
        "writing",
    )

    def __init__(
        self,
        websocket: WebSocket,
        interview_id: int,
        user_id: int,
        *,
        observer: bool,
        voice: bool = False,
        streaming: bool = True,
        write: Callable[[Connection], Coroutine[Any, Any, None]],
        asgi_send: Send,
    ) -> None:
        self.id = secrets.token_hex(8)
        self.websocket = websocket
        # the server's own `send`: the writer's data frames go to it directly (the accept and
        # the close go through `websocket`, which keeps its state)
        self.asgi_send = asgi_send
        self.interview_id = interview_id
        self.user_id = user_id
        self.observer = observer
        self.voice = voice
        self.streaming = streaming
        self.write = write
        self.writer: asyncio.Task[None] | None = None
        self.writing = False  # the writer is running in the caller's task (`wake_writer`)
        self.finished = False  # the socket is done: no writer starts any more
        self.write_ended = False  # the writer closed the socket, or a send failed
        self.stop_reading: Callable[[], None] = _nothing
        self.sub = Subscriber(interview_id, self.wake_writer)
        self.last_heard = time.monotonic()
        self.reader_idle = False  # the reader waits for a frame, none queued before it
        self.close_code: int | None = None  # the code this server closes with
        self.client_close_code: int | None = None  # the code the client closed with
        # after a snapshot: watch until the interview's turn is known to be in good hands
        self.watch_turn = False
        self.turn_checked = 0.0
        # when the process's heartbeat pings it next (app/api/v1/websocket.py)
        self.next_ping = self.last_heard + get_settings().WS_HEARTBEAT_INTERVAL_SEC
        # frames read and not yet acted on, and the task acting on them (app/api/v1/websocket.py)
        self.inbox: list[Any] = []  # (a list: an empty deque costs ~600 bytes a socket)
        self.dispatcher: asyncio.Task[None] | None = None

    def wake_writer(self) -> None:
        """There is something to send: start the writer unless it is running.

        The writer starts in the caller's task and sends at once, instead of in a task of its
        own a loop iteration later; only if it has to wait (a socket that cannot take more
        yet) does the rest go on in a task, and a close or a due snapshot (a database read)
        starts it as a task. While it waits, what comes meanwhile queues behind it: a lagging
        socket's pieces go out merged into one frame when it can take more (`coalesce`)."""
        if self.finished or self.write_ended or self.writing:
            return  # (writing: it is sending now and takes what came meanwhile with it)
        if self.writer is not None and not self.writer.done():
            return
        name = f"ws-writer-{self.id}"
        if self.close_code is None and not self.sub.snapshot_due:
            self.writing = True
            try:
                self.writer = start_here(self.write(self), name=name)
            finally:
                self.writing = False
            return
        self.writer = asyncio.get_running_loop().create_task(self.write(self), name=name)

    def request_close(self, code: int) -> None:
        """Ask the writer to close the socket (it owns every send)."""
        if self.close_code is None:
            self.close_code = code
            self.wake_writer()

    def send_error(self, code: str, content: str, **extra: Any) -> None:
        self.sub.push_control({"type": "error", "code": code, "content": content, **extra})


def _nothing() -> None:
    return None


class ConnectionManager:
    def __init__(self) -> None:
        self.local: dict[int, set[Connection]] = {}
        self.turns: dict[int, asyncio.Task[object]] = {}

    # -- sockets --------------------------------------------------------------------------
    async def register(self, conn: Connection) -> None:
        hub = get_hub()
        hub.on_control = self.on_control
        self.local.setdefault(conn.interview_id, set()).add(conn)
        hub.log(conn.interview_id).subscribers.add(conn.sub)
        await hub.follow(conn.interview_id)
        if not conn.observer:
            await self.claim(conn)

    async def claim(self, conn: Connection) -> None:
        """Make `conn` the interview's candidate socket; every older one closes with 4009."""
        for other in self.local.get(conn.interview_id, set()):
            if other is not conn and not other.observer:
                other.request_close(CLOSE_REPLACED)
        async with get_redis().pipeline(transaction=False) as pipe:  # one round trip
            pipe.set(owner_key(conn.interview_id), conn.id, ex=self.owner_ttl())
            get_hub().queue_control(pipe, conn.interview_id, {"kick": conn.id})
            await pipe.execute()

    async def refresh_owner(self, conn: Connection) -> None:
        redis = get_redis()
        key = owner_key(conn.interview_id)
        if await redis.get(key) == conn.id:
            await redis.expire(key, self.owner_ttl())

    @staticmethod
    def owner_ttl() -> int:
        settings = get_settings()
        return int(
            max(settings.WS_HEARTBEAT_INTERVAL_SEC * 2, settings.WS_HEARTBEAT_TIMEOUT_SEC) + 5
        )

    async def unregister(self, conn: Connection) -> None:
        conns = self.local.get(conn.interview_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.local[conn.interview_id]
        hub = get_hub()
        log = hub.logs.get(conn.interview_id)
        if log is not None:
            log.subscribers.discard(conn.sub)
        if not conn.observer:
            redis = get_redis()
            key = owner_key(conn.interview_id)
            with contextlib.suppress(Exception):
                if await redis.get(key) == conn.id:
                    await redis.delete(key)
        await hub.unfollow_if_idle(conn.interview_id)

    def on_control(self, interview_id: int, control: dict[str, Any]) -> None:
        """A message from another process about this interview's sockets."""
        owner = control.get("kick")
        if owner is not None:
            for conn in self.local.get(interview_id, set()):
                if not conn.observer and conn.id != owner:
                    conn.request_close(CLOSE_REPLACED)
        if control.get("cancel_turn"):
            task = self.turns.get(interview_id)
            if task is not None and not task.done():
                task.cancel()
        close = control.get("close")
        if close is not None:
            self._close_local(interview_id, int(close["code"]), str(close["reason"]))

    def _close_local(self, interview_id: int, code: int, reason: str) -> None:
        """The interview has ended for good (cancelled): close its sockets here; its event log
        goes once they have (`EventHub.release_if_finished`), as an ended interview's does."""
        for conn in self.local.get(interview_id, set()):
            conn.send_error("INTERVIEW_INVALID_STATE", reason)
            conn.request_close(code)
        hub = get_hub()
        log = hub.logs.get(interview_id)
        if log is not None:
            hub.finish(log)

    async def shut_interview(self, interview_id: int, code: int, reason: str) -> None:
        """The interview can no longer run (cancelled): stop its turn, close its sockets."""
        await self.cancel_turn(interview_id)
        self._close_local(interview_id, code, reason)
        await get_hub().send_control(interview_id, {"close": {"code": code, "reason": reason}})

    async def close_all(self, code: int = CLOSE_SERVICE_RESTART) -> None:
        for conns in list(self.local.values()):
            for conn in list(conns):
                conn.request_close(code)

    # -- turns ----------------------------------------------------------------------------
    def turn_running(self, interview_id: int) -> bool:
        task = self.turns.get(interview_id)
        return task is not None and not task.done()

    def turn_busy(self, interview_id: int) -> bool:
        """A turn runs here and the interviewer has not finished speaking (a turn that only
        wraps up after its `stream_end` — lease, speech — does not make a new answer wait)."""
        return self.turn_running(interview_id) and get_hub().log(interview_id).speaking

    def start_turn(
        self, interview_id: int, events: AsyncIterator[Event], origin: Connection | None
    ) -> bool:
        """Run a turn as an app-owned task (after the previous one has wrapped up); False
        when the interviewer is still speaking. Its first step runs now, as its task (an
        answer's save is begun a loop iteration sooner: `thinking`, `make bench`)."""
        if self.turn_busy(interview_id):
            return False
        previous = self.turns.get(interview_id)
        get_hub().log(interview_id).speaking = True  # from now: a second answer must wait
        if origin is not None and origin.voice:  # the voice socket hears every AI turn
            from app.services.voice_service import speak

            events = speak(interview_id, events, origin)

        async def _consume() -> None:
            me = asyncio.current_task()
            assert me is not None
            self.turns[interview_id] = me  # (before its first wait: it may end without one)
            if previous is not None and not previous.done():
                await asyncio.wait([previous])  # its stream_end is out; let it finish first
            try:
                async for _ in events:
                    pass
            except ConductorError as exc:
                if origin is not None:
                    origin.send_error(exc.code, exc.message)
            except asyncio.CancelledError:
                raise
            except Exception:  # the detail stays in the log; the client gets a code only
                logger.exception("interview %s: turn failed", interview_id)
                if origin is not None:
                    origin.send_error("INTERNAL_ERROR", "Something went wrong on our side.")
            finally:
                if self.turns.get(interview_id) is me:
                    del self.turns[interview_id]

        spawn(_consume(), name=f"turn-{interview_id}", eager=True)
        return True

    async def recover_orphaned_turn(self, conn: Connection) -> None:
        """If the turn's process died (its lease outlived it) or a turn was never finished,
        run it again here; keep watching while a live process is still generating."""
        from app.services.interview_conductor_service import (
            InterviewConductorService,
            TurnLease,
        )

        if self.turn_running(conn.interview_id):
            conn.watch_turn = False
            return
        if await TurnLease.holder_alive(conn.interview_id):
            return  # another process is on it; look again later
        conn.watch_turn = False
        turn = InterviewConductorService().stream_recover(conn.interview_id)
        self.start_turn(conn.interview_id, turn, conn)

    async def cancel_turn(self, interview_id: int) -> None:
        """Stop the interview's running turn, here or on another process."""
        task = self.turns.get(interview_id)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await get_hub().send_control(interview_id, {"cancel_turn": True})


_manager: ConnectionManager | None = None


def get_manager() -> ConnectionManager:
    global _manager
    if _manager is None:
        _manager = ConnectionManager()
    return _manager


def reset_manager() -> None:
    global _manager
    _manager = None
