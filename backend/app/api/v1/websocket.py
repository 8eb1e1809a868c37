"""The interview sockets (PROTOCOL.md): handshake, then the socket reads in its own task, a
writer runs while there is something to send, and one heartbeat beats for all the sockets of
the process.

Rules live in services: the conductor runs turns, the event log orders and relays events,
the connection manager owns sockets and turns, the snapshot builder answers `reconnect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from functools import partial
from typing import Any

import orjson
from starlette.datastructures import Headers, QueryParams
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from app.api.v1 import API_V1_PREFIX
from app.api.v1.ws_arrival import hand_frames_to
from app.core import log_context, metrics
from app.core.config import get_settings
from app.core.dependencies import token_user_id
from app.core.redis import get_redis
from app.core.security import looks_like_jwt, redeem_ws_ticket
from app.models import MAX_ID, Role
from app.schemas.ws import (
    AudioMsg,
    EndMsg,
    InvalidMessage,
    MessageMsg,
    PingMsg,
    ReconnectMsg,
    StartMsg,
    parse_client_message,
)
from app.services.interview_conductor_service import (
    WAIT_TEXT,
    ConductorError,
    FrameCount,
    InterviewConductorService,
    InvalidStateError,
    RateLimitedError,
)
from app.services.interview_events import Event
from app.services.interview_service import FINISHED, connect_lookup
from app.services.interview_session import load_session
from app.services.interview_snapshot import build_snapshot
from app.services.lifecycle import spawn
from app.services.voice_service import (
    InvalidAudioMessage,
    answer_from_audio,
    audio_client_msg_id,
    decode_base64_audio,
)
from app.services.ws_connection_manager import (
    CLOSE_HEARTBEAT_TIMEOUT,
    Connection,
    get_manager,
)

logger = logging.getLogger("app.ws")

CLOSE_NORMAL = 1000
CLOSE_UNAUTHORIZED = 4001
CLOSE_NOT_FOUND = 4002
CLOSE_INVALID_STATE = 4003
CLOSE_ACCESS_DENIED = 4004
CANDIDATE_SOCKET_ROLES = (Role.SUPER_ADMIN, Role.HR_MANAGER)
OBSERVER_ROLES = (Role.SUPER_ADMIN, Role.HR_MANAGER, Role.INTERVIEWER)
INTERNAL_ERROR_TEXT = "Something went wrong on our side."
TURN_CHECK_SEC = 1.0  # while watching for a turn cut off by a dead process
DISPATCH_DRAIN_SEC = 30.0  # a dropped socket's frames already read: how long to finish them


# -- routes ---------------------------------------------------------------------------------
# The sockets are plain ASGI routes, entered straight from the app (app/main.py), not through
# FastAPI's router: a socket lives for minutes, and every layer it passes through (middleware,
# routers, dependency solving) stays suspended under it for its whole life. None of those
# layers acts on a websocket (CORS, request ids, body limits and exception handlers are for
# HTTP), and together they held ~24 coroutines, 3 exit stacks and a response object per
# socket: memory per idle socket (`make bench`). Paths (`{id}`: one path segment):
#   /api/v1/ws/interview/{id}          the candidate's text socket
#   /api/v1/ws/voice/{id}              the candidate's voice socket
#   /api/v1/ws/interview/{id}/observe  HR's read-only view
SOCKET_PREFIX = API_V1_PREFIX + "/ws/"
SOCKET_ROUTES = {  # (kind, tail) -> (observer, voice)
    ("interview", ""): (False, False),
    ("voice", ""): (False, True),
    ("interview", "/observe"): (True, False),
}


async def socket_app(scope: Scope, receive: Receive, send: Send) -> bool:
    """Serve a websocket scope whose path is one of the sockets; False for any other path."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if not path.startswith(SOCKET_PREFIX):
        return False
    kind, _, rest = path[len(SOCKET_PREFIX) :].partition("/")
    raw_id, slash, tail = rest.partition("/")
    route = SOCKET_ROUTES.get((kind, slash + tail))
    if route is None or not raw_id:
        return False
    observer, voice = route
    websocket = WebSocket(scope, receive, send)
    # the server's protocol (uvicorn's): its frames can be taken as they arrive (`frame_now`)
    server = getattr(receive, "__self__", None)
    await serve(websocket, raw_id, observer=observer, voice=voice, server=server, asgi_send=send)
    return True


# -- handshake ------------------------------------------------------------------------------
async def authorize(token: str, raw_id: str, observer: bool) -> tuple[int, int] | int:
    """The user's and the interview's ids, or the close code, checked in the order
    4001→4002→4004→4003. One database statement (`connect_lookup`), after the ticket's
    redemption in Redis: no database connection is held across that round trip."""
    user_id: int | None = None
    ticket_interview: int | None = None
    if token and looks_like_jwt(token):
        user_id = token_user_id(token)
    elif token:
        ticket = await redeem_ws_ticket(token)
        if ticket is not None:
            user_id, ticket_interview = ticket.user_id, ticket.interview_id
    if user_id is None:
        return CLOSE_UNAUTHORIZED
    interview_id = int(raw_id) if raw_id.isdigit() and len(raw_id) <= 10 else None
    if interview_id is not None and interview_id > MAX_ID:
        interview_id = None  # no such row: 4002 (PostgreSQL would refuse the value)
    if ticket_interview is not None and ticket_interview != interview_id:
        return CLOSE_UNAUTHORIZED  # a ticket is good for its own interview only
    found = await connect_lookup(user_id, interview_id)
    if found.role is None:
        return CLOSE_UNAUTHORIZED
    if found.interview_id is None:
        return CLOSE_NOT_FOUND
    if observer:
        allowed = found.role in OBSERVER_ROLES
    else:
        allowed = found.role in CANDIDATE_SOCKET_ROLES or found.owned()
    if not allowed:
        return CLOSE_ACCESS_DENIED
    if found.status in FINISHED:
        return CLOSE_INVALID_STATE
    return user_id, found.interview_id


def origin_allowed(headers: Headers) -> bool:
    origin = headers.get("origin")
    return origin is None or origin.rstrip("/") in get_settings().CORS_ORIGINS


# -- the socket -----------------------------------------------------------------------------
async def serve(
    websocket: WebSocket,
    raw_id: str,
    *,
    observer: bool,
    voice: bool,
    asgi_send: Send,
    server: object = None,
) -> None:
    # parsed here, not through `websocket.headers` / `.query_params`, which the socket would
    # keep for its whole life (~2 KiB an idle socket)
    query = QueryParams(websocket.scope["query_string"])
    if not origin_allowed(Headers(scope=websocket.scope)):
        await websocket.close()  # before accept: HTTP 403 (cross-site WebSocket hijacking)
        return
    result = await authorize(query.get("token", ""), raw_id, observer)
    await websocket.accept()
    if isinstance(result, int):
        metrics.WS_REFUSED.labels(code=str(result)).inc()
        await websocket.close(code=result)  # after accept, so the browser sees the code
        return
    user_id, interview_id = result
    streaming = query.get("stream", "true").lower() not in ("false", "0")
    conn = Connection(
        websocket,
        interview_id,
        user_id,
        observer=observer,
        voice=voice,
        streaming=streaming,
        write=write_pending,
        asgi_send=asgi_send,
    )
    del result, query  # not kept for the socket's lifetime (memory)
    manager = get_manager()
    kind = "observer" if observer else "voice" if voice else "candidate"
    log_context.bind(interview_id=conn.interview_id, request_id=conn.id)
    await manager.register(conn)
    metrics.WS_OPENED.labels(kind=kind).inc()
    metrics.WS_CONNECTIONS.labels(kind=kind).inc()
    if observer:
        conn.sub.request_snapshot()
    ensure_pulse()
    hand_frames_to(server, partial(frame_now, conn))
    try:
        await read_until_closed(conn)
    finally:
        conn.finished = True
        if conn.writer is not None:
            conn.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await conn.writer
        if conn.dispatcher is not None:  # frames read before the drop are still acted on
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(conn.dispatcher), DISPATCH_DRAIN_SEC)
        await manager.unregister(conn)
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(code=conn.close_code or CLOSE_NORMAL)
        metrics.WS_CONNECTIONS.labels(kind=kind).dec()
        code = conn.close_code or conn.client_close_code or CLOSE_NORMAL
        metrics.WS_CLOSED.labels(code=str(code)).inc()


async def read_until_closed(conn: Connection) -> None:
    """Read in the socket's own task (a reader task of its own cost every idle socket a task)
    until the client goes, or the writer has ended the socket (`conn.stop_reading`)."""
    me = asyncio.current_task()
    assert me is not None
    reading = True

    def stop() -> None:
        # from the reader's own task (a writer started by a `pong` runs in it), nothing to
        # cancel: the read loop sees `write_ended` before its next read
        if reading and asyncio.current_task() is not me:
            me.cancel()

    conn.stop_reading = stop
    if conn.write_ended:  # before the read began (e.g. replaced while registering)
        return
    try:
        await read_loop(conn)
    except asyncio.CancelledError:
        if not conn.write_ended or me.uncancel() > 0:
            raise  # cancelled from outside (shutdown)
    except Exception:  # e.g. a receive on a socket the writer closed: the socket is done
        logger.debug("interview %s: read ended", conn.interview_id, exc_info=True)
    finally:
        reading = False


async def read_loop(conn: Connection) -> None:
    ws = conn.websocket
    while not conn.write_ended:
        conn.reader_idle = True  # frames may be taken on arrival meanwhile (`frame_now`)
        try:
            message = await ws.receive()
        finally:
            conn.reader_idle = False
        if message["type"] == "websocket.disconnect":
            conn.client_close_code = message.get("code")
            return
        conn.last_heard = time.monotonic()
        text = message.get("text")
        if text is None:
            data = message.get("bytes") or b""
            if not conn.voice:
                conn.send_error("INVALID_MESSAGE", "Binary frames are not accepted on this socket")
                continue
            await queue_dispatch(conn, data)
            continue
        FRAMES_READ.inc()
        msg = take_text(conn, text)
        if msg is not None:
            await queue_dispatch(conn, msg)


FRAMES_READ = metrics.WS_FRAMES.labels(at="reader")
FRAMES_ON_ARRIVAL = metrics.WS_FRAMES.labels(at="arrival")


def frame_now(conn: Connection, text: str) -> bool:
    """A text frame, where the server parsed it (app/api/v1/ws_arrival.py), while the reader
    waits with no frame queued before it: handled here as the reader would, a loop iteration
    sooner (an answer's turn started, a `pong` queued, a bad frame's error sent, anything
    else put in the dispatch inbox). False, with nothing done: the reader is busy, the socket
    done or the inbox full (the reader's backpressure), and the frame goes to its queue."""
    if not conn.reader_idle or conn.write_ended or len(conn.inbox) + 1 >= INBOX_LIMIT:
        return False
    conn.last_heard = time.monotonic()
    FRAMES_ON_ARRIVAL.inc()
    msg = take_text(conn, text)
    if msg is not None:
        queue_now(conn, msg)
    return True


def take_text(conn: Connection, text: str) -> Any:
    """A text frame's first handling, waiting for nothing: None when done with (an error sent,
    a `pong` queued, an answer's turn started: `reply_now`), else the message to dispatch."""
    limit = get_settings().WS_MAX_MESSAGE_BYTES
    # Only an audio frame on the voice socket may be larger (up to WS_MAX_AUDIO_BYTES).
    oversize = len(text.encode()) > limit
    if oversize and not (conn.voice and '"audio"' in text[:64]):
        conn.send_error("INVALID_MESSAGE", too_large_text(limit))
        return None
    try:
        msg = parse_client_message(text)
    except InvalidMessage as exc:
        conn.send_error("INVALID_MESSAGE", str(exc))
        return None
    if oversize and not isinstance(msg, AudioMsg):
        conn.send_error("INVALID_MESSAGE", too_large_text(limit))
        return None
    if isinstance(msg, PingMsg):  # answered at once, never behind a message's dispatch
        conn.sub.push_control({"type": "pong"})
        return None
    if isinstance(msg, MessageMsg) and reply_now(conn, msg):
        return None
    return msg


INBOX_LIMIT = 16  # frames read ahead of their dispatch; past it the reader waits (backpressure)


async def queue_dispatch(conn: Connection, item: Any) -> None:
    """Dispatch the socket's frames in order on a task of their own, so that the reader goes
    on reading (a `ping` is answered while a `message` waits for the database)."""
    dispatcher = queue_now(conn, item)
    if len(conn.inbox) >= INBOX_LIMIT:
        await asyncio.wait([dispatcher])


def queue_now(conn: Connection, item: Any) -> asyncio.Task[None]:
    """`item` in the inbox, its dispatcher started if none runs; that dispatcher."""
    conn.inbox.append(item)
    if conn.dispatcher is None or conn.dispatcher.done():
        conn.dispatcher = asyncio.create_task(dispatch_inbox(conn), name=f"ws-dispatch-{conn.id}")
    return conn.dispatcher


async def dispatch_inbox(conn: Connection) -> None:
    try:
        await dispatch_all(conn)
    finally:
        if conn.dispatcher is asyncio.current_task():
            conn.dispatcher = None  # an idle socket keeps no finished task


async def dispatch_all(conn: Connection) -> None:
    while conn.inbox:
        item = conn.inbox.pop(0)  # at most INBOX_LIMIT items
        if isinstance(item, bytes):
            await on_audio(conn, item)
            continue
        try:
            await dispatch(conn, item)
        except ConductorError as exc:
            conn.send_error(exc.code, exc.message)
        except Exception:  # the detail stays in the log; the socket stays open
            logger.exception("interview %s: %s failed", conn.interview_id, item.type)
            conn.send_error("INTERNAL_ERROR", INTERNAL_ERROR_TEXT)


def too_large_text(limit: int) -> str:
    return f"Message too large (limit {limit} bytes)"


async def dispatch(conn: Connection, msg: Any) -> None:
    """Act on one frame (`ping` never comes here: the reader answers it at once)."""
    if isinstance(msg, ReconnectMsg):
        metrics.WS_RECONNECTS.inc()
        conn.sub.request_snapshot()
        return
    if not isinstance(msg, StartMsg | MessageMsg | EndMsg | AudioMsg):
        return  # pong: hearing it is all it is for
    if conn.observer:
        conn.send_error("ACCESS_DENIED", "Observers can watch the interview but not take part")
        return
    conductor = InterviewConductorService()
    manager = get_manager()
    if isinstance(msg, StartMsg):
        outcome = await conductor.start_interview(conn.interview_id)
        if outcome.was_running:
            conn.sub.request_snapshot()
        if outcome.greeting_due:
            manager.start_turn(
                conn.interview_id, conductor.stream_greeting(conn.interview_id), conn
            )
    elif isinstance(msg, MessageMsg):
        if not manager.turn_busy(conn.interview_id):
            start_reply(conn, msg, frame_count(conn))
            return
        # refused, most likely: counted on its own
        if not await within_rate_limit(conn, frame_count(conn)):
            return
        if await refused_while_busy(conn, conductor, msg.client_msg_id):
            return
        start_reply(conn, msg, None)  # the turn ended meanwhile
    elif isinstance(msg, EndMsg):
        await manager.cancel_turn(conn.interview_id)
        if await conductor.end_interview(conn.interview_id) is None:
            raise InvalidStateError("The interview is already over")
    elif isinstance(msg, AudioMsg):
        if not conn.voice:
            conn.send_error("INVALID_MESSAGE", "Audio is accepted on the voice socket only")
            return
        await on_audio(conn, msg.data, msg.client_msg_id)


def reply_now(conn: Connection, msg: MessageMsg) -> bool:
    """Start the answer's turn from the reader, with no dispatch task (one loop iteration less
    before `thinking`: under load an iteration is tens of ms, `make bench`), when nothing
    needs a wait first: no earlier frame still dispatching (frames act in order), a
    candidate's socket, no turn running. False: the frame goes to `queue_dispatch`."""
    if conn.observer or conn.inbox or get_manager().turn_busy(conn.interview_id):
        return False
    if conn.dispatcher is not None and not conn.dispatcher.done():
        return False
    start_reply(conn, msg, frame_count(conn))
    return True


def start_reply(conn: Connection, msg: MessageMsg, count: FrameCount | None) -> None:
    """The answer's turn, as a task; `count`: the frame's rate-limit count, made in the turn's
    first Redis round trip (one wait less before `thinking`), or None when already made."""
    turn = InterviewConductorService().stream_process_message(
        conn.interview_id, msg.content, msg.client_msg_id, count=count
    )
    get_manager().start_turn(conn.interview_id, turn, conn)


async def on_audio(conn: Connection, data: bytes | str, client_msg_id: str | None = None) -> None:
    """One utterance (binary frame, or a JSON frame's base64 `data`): speech to text, then the
    same turn as a typed answer, spoken back (app/services/voice_service.py)."""
    settings = get_settings()
    if not await within_rate_limit(conn, frame_count(conn)):
        return
    limit = settings.WS_MAX_AUDIO_BYTES
    try:
        audio = data if isinstance(data, bytes) else decode_base64_audio(data, limit)
        if len(audio) > limit:
            raise InvalidAudioMessage(f"Audio too large (limit {limit} bytes)")
        if not audio:
            raise InvalidAudioMessage("The audio is empty")
        cid = client_msg_id or audio_client_msg_id(audio)
        conductor = InterviewConductorService()
        if await refused_while_busy(conn, conductor, cid):
            return
        turn = answer_from_audio(conn.interview_id, audio, cid, conductor)
        get_manager().start_turn(conn.interview_id, turn, conn)
    except ConductorError as exc:
        conn.send_error(exc.code, exc.message)
    except Exception:  # the detail stays in the log; the socket stays open
        logger.exception("interview %s: audio failed", conn.interview_id)
        conn.send_error("INTERNAL_ERROR", INTERNAL_ERROR_TEXT)


async def refused_while_busy(
    conn: Connection, conductor: InterviewConductorService, client_msg_id: str | None
) -> bool:
    """True when the interviewer is still speaking, so the answer cannot start its turn: a
    repeat of an answered one then gets no reply at all, anything else TURN_IN_PROGRESS. (With
    no turn running, the turn itself finds a repeat and stays silent: no query here.)"""
    if not get_manager().turn_busy(conn.interview_id):
        return False
    if not (client_msg_id and await conductor.already_answered(conn.interview_id, client_msg_id)):
        conn.send_error("TURN_IN_PROGRESS", WAIT_TEXT)
    return True


def frame_count(conn: Connection) -> FrameCount:
    """`message` frames per minute per interview, every frame counted (PROTOCOL.md)."""
    limit = get_settings().WS_RATE_LIMIT_PER_MIN
    return FrameCount(
        key=f"ratelimit:{conn.interview_id}:{int(time.time() // 60)}",
        limit=limit,
        message=f"Too many messages: at most {limit} a minute",
    )


async def within_rate_limit(conn: Connection, count: FrameCount) -> bool:
    """Make the frame's `count` on its own; False, with RATE_LIMITED sent, past the limit."""
    async with get_redis().pipeline(transaction=False) as pipe:
        count.queue(pipe)
        counted, _ = await pipe.execute()
    if count.over(counted):
        conn.send_error(RateLimitedError.code, count.message)
        return False
    return True


# -- writer ---------------------------------------------------------------------------------
def coalesce(events: list[Event]) -> list[Event]:
    """Merge consecutive pieces of one stream into one frame (a lagging socket catches up)."""
    if len(events) < 2:
        return events  # (the usual: one event a wake-up)
    out: list[Event] = []
    for event in events:
        prev = out[-1] if out else None
        if (
            prev is not None
            and event["type"] == "stream_chunk"
            and prev["type"] == "stream_chunk"
            and prev["stream_id"] == event["stream_id"]
        ):
            out[-1] = {
                **prev,
                "content": prev["content"] + event["content"],
                "chunk_index": event["chunk_index"],
                "seq": event["seq"],
            }
        else:
            out.append(event)
    return out


def for_client(conn: Connection, event: Event) -> Event | None:
    """The frame this socket gets for an event (`stream=false` sockets get whole turns)."""
    if event["type"] == "audio" and not conn.voice:
        return None  # speech is for the voice socket; text sockets and observers skip it
    if conn.streaming:
        if event["type"] == "stream_end":
            return {k: v for k, v in event.items() if k != "kind"}
        return event
    kind = event["type"]
    if kind in ("stream_start", "stream_chunk"):
        return None
    if kind == "stream_end":
        return {
            "type": "greeting" if event.get("kind") == "greeting" else "response",
            "seq": event["seq"],
            "content": event["content"],
            "question_number": event["question_number"],
            "total_questions": event["total_questions"],
            "time_remaining_min": event["time_remaining_min"],
        }
    return event


async def write_pending(conn: Connection) -> None:
    """The socket's writer: send what is waiting, then end (the next news starts it again).
    Once it has closed the socket, or a send failed, the socket's read stops."""
    try:
        closed = await write_all(conn)
    except Exception:  # the client is gone: nothing more can be sent
        logger.debug("interview %s: send failed", conn.interview_id, exc_info=True)
        closed = True
    if conn.writer is not None and conn.writer is asyncio.current_task():
        conn.writer = None  # an idle socket keeps no finished task
    if closed:
        conn.write_ended = True
        conn.stop_reading()


async def write_all(conn: Connection) -> bool:
    """Send until nothing is left; True once the socket is closed."""
    ws = conn.websocket
    sub = conn.sub
    while sub.events or sub.control or sub.snapshot_due or conn.close_code is not None:
        if conn.close_code is not None:
            # an error that explains the close (e.g. "cancelled") goes out first, briefly
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    for error in [f for f in sub.take_control() if f["type"] == "error"]:
                        await send_frame(conn, error)
            await ws.close(code=conn.close_code)
            return True
        if sub.control:
            await send_control(conn)
        if sub.snapshot_due:
            sub.snapshot_due = False
            try:
                snapshot = await build_snapshot(conn.interview_id, sub)
            except Exception:  # the detail stays in the log; the socket stays open
                logger.exception("interview %s: snapshot failed", conn.interview_id)
                snapshot = {"type": "error", "code": "INTERNAL_ERROR"}
                snapshot["content"] = INTERNAL_ERROR_TEXT
            await send_frame(conn, snapshot)
            conn.watch_turn = not conn.observer  # was a turn cut off by a dead process?
        for event in coalesce(sub.drain()):
            if sub.control:
                await send_control(conn)
            frame = for_client(conn, event)
            if frame is not None:
                await send_frame(conn, frame)
            if event["type"] in ("ended", "complete"):
                conn.close_code = CLOSE_NORMAL
                await ws.close(code=CLOSE_NORMAL)
                return True
    return False


async def send_frame(conn: Connection, frame: Event) -> None:
    """One data frame, straight to the server's ASGI `send`: Starlette's `send_text` → `send`
    around it add two coroutines a frame and checks that cannot fail on an accepted socket."""
    await conn.asgi_send({"type": "websocket.send", "text": orjson.dumps(frame).decode()})


async def send_control(conn: Connection) -> None:
    """The socket's control frames (pong, errors), all of them, oldest first."""
    while conn.sub.control:
        for frame in conn.sub.take_control():
            await send_frame(conn, frame)


# -- heartbeat ------------------------------------------------------------------------------
# One task beats for every socket of this process (one per socket cost a task, its frames and
# a timer per socket, woken every second: memory per idle socket under `make bench`).
_pulse: asyncio.Task[None] | None = None
_pulse_tick = 0.0  # the period the running pulse beats at
_checking: set[str] = set()  # sockets whose turn check is running


def pulse_tick() -> float:
    settings = get_settings()  # read at use: settings may change (tests)
    return min(1.0, settings.WS_HEARTBEAT_INTERVAL_SEC / 4, settings.WS_HEARTBEAT_TIMEOUT_SEC / 4)


def ensure_pulse() -> None:
    """Start the heartbeat, or restart it when the settings now ask for a shorter beat."""
    global _pulse, _pulse_tick
    loop = asyncio.get_running_loop()
    tick = pulse_tick()
    if _pulse is not None and not _pulse.done() and _pulse.get_loop() is loop:
        if _pulse_tick <= tick:
            return
        _pulse.cancel()
    _pulse_tick = tick
    _pulse = loop.create_task(pulse_loop(), name="ws-heartbeat")


async def pulse_loop() -> None:
    """Every tick: close silent sockets (4008), ping those due, check turns being watched.
    Ends when this process has no socket left (`ensure_pulse` starts it again)."""
    global _pulse, _pulse_tick
    while True:
        _pulse_tick = pulse_tick()
        await asyncio.sleep(_pulse_tick)
        sockets = [conn for conns in get_manager().local.values() for conn in conns]
        if not sockets:
            if _pulse is asyncio.current_task():
                _pulse = None  # no await since the check: a new socket starts a new pulse
            return
        settings = get_settings()
        now = time.monotonic()
        for conn in sockets:
            beat(conn, now, settings.WS_HEARTBEAT_INTERVAL_SEC, settings.WS_HEARTBEAT_TIMEOUT_SEC)


def beat(conn: Connection, now: float, interval: float, timeout: float) -> None:
    if conn.close_code is not None:
        return
    if now - conn.last_heard > timeout:
        logger.info("interview %s: heartbeat timeout", conn.interview_id)
        conn.request_close(CLOSE_HEARTBEAT_TIMEOUT)
        return
    if conn.watch_turn and now - conn.turn_checked >= TURN_CHECK_SEC and conn.id not in _checking:
        conn.turn_checked = now
        spawn(check_turn(conn), name=f"ws-turn-check-{conn.id}")
    if now >= conn.next_ping:
        conn.next_ping = now + interval
        conn.sub.push_control({"type": "ping"})
        if not conn.observer:
            spawn(owner_checks(conn), name=f"ws-owner-check-{conn.id}")


async def check_turn(conn: Connection) -> None:
    _checking.add(conn.id)  # one check at a time per socket (a slow Redis: the next waits)
    try:
        await get_manager().recover_orphaned_turn(conn)
    except Exception:  # checked again on the next tick
        logger.exception("interview %s: turn recovery check failed", conn.interview_id)
    finally:
        _checking.discard(conn.id)


async def owner_checks(conn: Connection) -> None:
    try:
        await get_manager().refresh_owner(conn)
        await close_if_time_is_up(conn)
    except Exception:  # a Redis hiccup must not end the heartbeat (or the socket)
        logger.exception("interview %s: heartbeat check failed", conn.interview_id)


async def close_if_time_is_up(conn: Connection) -> None:
    """Time ran out while the candidate was silent: the interviewer closes the interview."""
    manager = get_manager()
    if manager.turn_running(conn.interview_id):
        return
    session = await load_session(conn.interview_id)
    if session is None or session.closed or session.status != "in_progress":
        return
    if session.time_is_up():
        conductor = InterviewConductorService()
        manager.start_turn(conn.interview_id, conductor.stream_closing(conn.interview_id), conn)
