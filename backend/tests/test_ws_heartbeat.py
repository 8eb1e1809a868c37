"""The server-driven heartbeat (PROTOCOL.md, "Timing"): `ping` every
WS_HEARTBEAT_INTERVAL_SEC, 4008 and a full clean-up after WS_HEARTBEAT_TIMEOUT_SEC of
silence, and a `pong` to the client's `ping` within 50 ms even while a reply streams."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time

import orjson
import pytest
from sqlalchemy import update
from sqlmodel import col

from app.core.database import session_factory
from app.core.redis import get_redis
from app.models import Interview, InterviewStatus
from app.services.ws_connection_manager import get_manager
from app.services.ws_presence import owner_key
from tests.support.api_helpers import API
from tests.support.factories import auth, make_interview, make_user
from tests.support.ws_flow import (
    LONG_ANSWER,
    frames_for,
    interview_row,
    long_reply,
    one,
    open_candidate,
    ping_pong,
    start,
    wait_for,
)

INTERVAL, TIMEOUT = 0.3, 1.0


@pytest.fixture
def fast_heartbeat(settings_env):
    settings_env(WS_HEARTBEAT_INTERVAL_SEC=INTERVAL, WS_HEARTBEAT_TIMEOUT_SEC=TIMEOUT)


@pytest.fixture
async def setup(db):
    return await make_interview(db)


async def test_server_pings_periodically_and_a_client_that_answers_stays(
    ws_url, setup, fast_heartbeat
):
    ws = await open_candidate(ws_url, setup)
    t0 = time.monotonic()
    ping_times: list[float] = []
    while time.monotonic() - t0 < 2.4:  # more than twice the timeout
        frame = await ws.recv(timeout=2 * INTERVAL + 0.5)  # never longer than that without one
        assert frame["type"] == "ping", frame
        assert set(frame) == {"type"}
        ping_times.append(time.monotonic())
        await ws.send({"type": "pong"})
    assert ws.close_code is None
    assert len(ping_times) >= 6
    gaps = [b - a for a, b in itertools.pairwise(ping_times)]
    assert INTERVAL * 0.7 < statistics.median(gaps) < INTERVAL * 1.7, gaps
    # still fully usable
    await ping_pong(ws)
    greeting = await start(ws)
    assert greeting[-1]["type"] == "stream_end"
    await ws.close()


async def test_silent_client_is_closed_4008_and_cleaned_up_everywhere(
    ws_url, setup, fast_heartbeat, client, db
):
    interview_id = setup.interview.id
    hr = await make_user(db)
    ws = await open_candidate(ws_url, setup)
    opened = time.monotonic()
    redis = get_redis()

    async def owned() -> bool:  # registration follows the handshake's accept
        return bool(await redis.exists(owner_key(interview_id)))

    await wait_for(owned, timeout=2, what="the socket's registration")
    resp = await client.get(f"{API}/interviews/{interview_id}", headers=auth(hr))
    assert resp.json()["connected"] is True
    assert interview_id in get_manager().local

    code = await ws.expect_close(timeout=5)  # reads (and never answers) the server's pings
    elapsed = time.monotonic() - opened
    assert code == 4008
    assert TIMEOUT <= elapsed < TIMEOUT + 1.0, elapsed

    async def cleaned_up() -> bool:
        return interview_id not in get_manager().local and not await redis.exists(
            owner_key(interview_id)
        )

    await wait_for(cleaned_up, timeout=2, what="the socket's clean-up")
    resp = await client.get(f"{API}/interviews/{interview_id}", headers=auth(hr))
    assert resp.json()["connected"] is False
    # and the interview is not broken: a new socket works
    again = await open_candidate(ws_url, setup)
    assert await ping_pong(again) == []
    await again.close()


async def test_a_client_sending_only_pings_is_not_silent(ws_url, setup, fast_heartbeat):
    """Any application message counts as hearing from the client (not only `pong`)."""
    ws = await open_candidate(ws_url, setup)
    t0 = time.monotonic()
    while time.monotonic() - t0 < TIMEOUT + 0.5:
        await ws.send({"type": "ping"})
        await ws.recv_until("pong", timeout=2, skip_pings=False)
        await asyncio.sleep(INTERVAL)
    assert ws.close_code is None
    assert await frames_for(ws, 0.05) == []
    await ws.close()


async def test_one_heartbeat_beats_for_every_socket_of_the_process(ws_url, db, fast_heartbeat):
    """One task pings and watches all the sockets (not one task each), and every socket gets
    its pings from it."""
    setups = [await make_interview(db) for _ in range(3)]
    sockets = [await open_candidate(ws_url, s) for s in setups]
    for ws in sockets:
        await ws.recv_until("ping", timeout=2, skip_pings=False)
    beating = [t for t in asyncio.all_tasks() if t.get_name() == "ws-heartbeat"]
    assert len(beating) == 1
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("ws-heartbeat-")]
    for ws in sockets:
        await ws.close()


async def test_pong_within_50ms_while_a_reply_streams(ws_url, setup, standin):
    ws = await open_candidate(ws_url, setup)
    await start(ws)
    standin.control(token_delay=0.02, replies=[long_reply(100)])  # ~2 s of streaming
    loop = asyncio.get_running_loop()
    frames: list[tuple[float, dict]] = []
    pong = asyncio.Event()
    ended = asyncio.Event()
    chunks_seen = asyncio.Event()

    async def read_all() -> None:  # read continuously: latency is the server's, not ours
        while True:
            raw = await ws.conn.recv()
            frame = orjson.loads(raw)
            frames.append((loop.time(), frame))
            if frame["type"] == "pong":
                pong.set()
            elif frame["type"] == "stream_chunk" and frame["chunk_index"] >= 5:
                chunks_seen.set()
            elif frame["type"] == "stream_end":
                ended.set()
                return

    reader = asyncio.create_task(read_all())
    try:
        await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "p1"})
        await asyncio.wait_for(chunks_seen.wait(), 10)
        latencies: list[float] = []
        for _ in range(10):
            if ended.is_set():
                break
            pong.clear()
            sent = loop.time()
            await ws.send({"type": "ping"})
            await asyncio.wait_for(pong.wait(), 2)
            if not ended.is_set():  # count only pongs answered mid-stream
                latencies.append(loop.time() - sent)
            await asyncio.sleep(0.05)
        await asyncio.wait_for(ended.wait(), 15)
    finally:
        reader.cancel()
    assert len(latencies) >= 5, f"only {len(latencies)} pings landed mid-stream"
    median = statistics.median(latencies)
    assert median < 0.05, f"pong latencies mid-stream: {[round(x * 1000, 1) for x in latencies]} ms"
    # the pongs really were interleaved with the stream's chunks
    kinds = [f["type"] for _, f in frames]
    first_pong, last_chunk = kinds.index("pong"), len(kinds) - 1 - kinds[::-1].index("stream_chunk")
    assert first_pong < last_chunk
    await ws.close()


async def test_a_ping_is_answered_while_the_message_before_it_waits_for_the_database(ws_url, setup):
    """A socket's frames are acted on in order, but its reader never waits for that: here
    `start` waits for a row lock (another transaction is changing the interview) and the
    `ping` sent after it is answered at once; once the lock goes, `start` goes on as usual."""
    interview_id = setup.interview.id
    ws = await open_candidate(ws_url, setup)
    async with session_factory()() as blocker:
        # an uncommitted change of the interview row: `start`'s status update must wait
        await blocker.exec(
            update(Interview).where(col(Interview.id) == interview_id).values(duration_min=31)
        )
        await ws.send({"type": "start"})
        await asyncio.sleep(0.2)  # `start` is being acted on: reading, then waiting to write
        before = await ping_pong(ws, timeout=2.0)  # well within the lock wait (>= 5 s)
        assert before == [], before  # nothing of `start` yet: it still waits for the lock
        assert (await interview_row(interview_id)).status == InterviewStatus.SCHEDULED
        await blocker.rollback()
    greeting = await ws.recv_until("stream_end", timeout=15)
    assert one(greeting, "stream_start")["kind"] == "greeting"
    assert (await interview_row(interview_id)).status == InterviewStatus.IN_PROGRESS
    await ws.close()
