"""Generation survives the socket; `reconnect` rebuilds the screen with nothing lost or doubled;
losing Redis loses nothing (new epoch, state rebuilt from the database)."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select

from app.core.database import session_factory
from app.core.redis import get_redis
from app.models import InterviewTranscript, TranscriptRole
from app.services.interview_events import get_hub
from tests.support.factories import make_interview, token
from tests.support.ws import WSClient

ANSWER = "I designed a payments ledger in Python with PostgreSQL and Redis for three years"
LONG_REPLY = " ".join(f"word{i}" for i in range(40)) + " What did you learn from it?"


async def ai_rows(interview_id: int) -> list[InterviewTranscript]:
    async with session_factory()() as db:
        rows = await db.exec(
            select(InterviewTranscript)
            .where(InterviewTranscript.interview_id == interview_id)
            .where(InterviewTranscript.role == TranscriptRole.AI)
            .order_by(col(InterviewTranscript.seq))
        )
        return list(rows.all())


async def started(db, ws_url):
    setup = await make_interview(db)
    url = ws_url(f"/ws/interview/{setup.interview.id}", token(setup.candidate_user))
    ws = await WSClient.open(url)
    await ws.send({"type": "start"})
    greeting = (await ws.recv_until("stream_end"))[-1]
    return setup, url, ws, greeting


async def wait_for_rows(interview_id: int, count: int, timeout: float = 10.0) -> list:
    for _ in range(int(timeout / 0.05)):
        rows = await ai_rows(interview_id)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} AI rows")


async def test_drop_mid_stream_then_resume_gets_pending_and_the_live_rest(db, ws_url, standin):
    setup, url, ws, _ = await started(db, ws_url)
    iid = setup.interview.id
    standin.control(replies=[LONG_REPLY], token_delay=0.05)
    await ws.send({"type": "message", "content": ANSWER, "client_msg_id": "c1"})
    frames = await ws.recv_until("stream_chunk")
    while len([f for f in frames if f["type"] == "stream_chunk"]) < 5:
        frames.append(await ws.recv())
    stream_id = frames[-1]["stream_id"]
    await ws.abort()  # network drop: no close frame

    again = await WSClient.open(url)
    await again.send({"type": "reconnect", "last_seq": frames[-1]["seq"]})
    snap = await again.recv()
    assert snap["type"] == "reconnected"
    pending = snap["pending_stream"]
    assert pending is not None and pending["stream_id"] == stream_id
    assert pending["kind"] == "response"
    assert pending["content"].startswith("word0 word1 word2 word3 word4")
    rest = await again.recv_until("stream_end")
    chunks = [f for f in rest if f["type"] == "stream_chunk"]
    assert chunks and all(c["chunk_index"] > pending["chunk_index"] for c in chunks)
    assert all(f["seq"] > snap["last_seq"] for f in rest)
    end = rest[-1]
    assert end["content"] == pending["content"] + "".join(c["content"] for c in chunks)
    assert end["content"] == LONG_REPLY
    rows = await ai_rows(iid)
    assert [r.stream_id for r in rows].count(stream_id) == 1
    await again.close()


async def test_drop_mid_stream_the_reply_is_finished_and_saved_once(db, ws_url, standin):
    setup, url, ws, greeting = await started(db, ws_url)
    iid = setup.interview.id
    standin.control(replies=[LONG_REPLY], token_delay=0.02)
    await ws.send({"type": "message", "content": ANSWER, "client_msg_id": "c1"})
    await ws.recv_until("stream_chunk")
    await ws.abort()
    rows = await wait_for_rows(iid, 2)
    assert rows[-1].content == LONG_REPLY

    again = await WSClient.open(url)
    await again.send({"type": "reconnect"})
    snap = await again.recv()
    assert snap["pending_stream"] is None
    history = snap["conversation_history"]
    assert [h["role"] for h in history] == ["ai", "candidate", "ai"]
    assert history[1]["client_msg_id"] == "c1" and history[2]["content"] == LONG_REPLY
    assert snap["last_seq"] >= history[-1]["seq"] > greeting["seq"]
    assert snap["question_number"] == 2 and snap["current_question"] == 1
    assert snap["total_questions"] == 3 and snap["status"] == "in_progress"
    await again.send({"type": "ping"})
    assert (await again.recv())["type"] == "pong"  # nothing replayed after the snapshot
    await again.close()
    assert len(await ai_rows(iid)) == 2


async def test_start_on_a_running_interview_answers_like_reconnect(db, ws_url):
    setup, url, ws, greeting = await started(db, ws_url)
    await ws.close()
    again = await WSClient.open(url)
    await again.send({"type": "start"})
    snap = await again.recv()
    assert snap["type"] == "reconnected"
    assert [h["seq"] for h in snap["conversation_history"]] == [greeting["seq"]]
    assert snap["conversation_history"][0]["stream_id"] == greeting["stream_id"]
    await again.close()
    assert len(await ai_rows(setup.interview.id)) == 1  # no second greeting


async def test_a_snapshot_from_the_shared_state_has_every_finished_turn_once(db, ws_url, standin):
    """The snapshot's other branch: a process that lost track of the stream (it followed one
    whose start it missed) takes `last_seq` from the state in Redis, which may lag. Finished
    turns then come from the database alone (the replay buffer holds none of them): each
    once, and nothing replayed after `reconnected`."""
    setup, _url, ws, greeting = await started(db, ws_url)
    await ws.send({"type": "message", "content": ANSWER, "client_msg_id": "c1"})
    frames = await ws.recv_until("stream_end")
    thinking, reply = frames[0], frames[-1]
    log = get_hub().log(setup.interview.id)
    assert log.recent == []
    log.pending_known = False
    await ws.send({"type": "reconnect"})
    snap = (await ws.recv_until("reconnected"))[-1]
    history = snap["conversation_history"]
    assert [h["seq"] for h in history] == [greeting["seq"], thinking["seq"], reply["seq"]]
    assert [h["content"] for h in history] == [greeting["content"], ANSWER, reply["content"]]
    await ws.send({"type": "ping"})
    assert (await ws.recv())["type"] == "pong"  # nothing replayed after the snapshot
    await ws.close()


async def test_reconnect_on_the_same_socket_mid_stream_never_doubles(db, ws_url, standin):
    _setup, _url, ws, _ = await started(db, ws_url)
    standin.control(replies=[LONG_REPLY], token_delay=0.03)
    await ws.send({"type": "message", "content": ANSWER, "client_msg_id": "c1"})
    await ws.recv_until("stream_chunk")
    await ws.send({"type": "reconnect"})
    frames = await ws.recv_until("reconnected")
    snap = frames[-1]
    rest = await ws.recv_until("stream_end")
    pending = snap["pending_stream"]
    shown = pending["content"] + "".join(f["content"] for f in rest if f["type"] == "stream_chunk")
    assert shown == rest[-1]["content"] == LONG_REPLY
    assert all(f["seq"] > snap["last_seq"] for f in rest)
    await ws.close()


async def test_losing_redis_loses_nothing(db, ws_url, standin):
    setup, url, ws, _ = await started(db, ws_url)
    iid = setup.interview.id
    await ws.send({"type": "message", "content": ANSWER, "client_msg_id": "c1"})
    first = (await ws.recv_until("stream_end"))[-1]
    await ws.send({"type": "reconnect"})
    before = (await ws.recv_until("reconnected"))[-1]
    await ws.close()

    await get_redis().flushdb()  # expiry, restart or flush: the same to us

    again = await WSClient.open(url)
    await again.send({"type": "reconnect", "last_seq": before["last_seq"]})
    snap = await again.recv()
    assert snap["epoch"] != before["epoch"]
    assert snap["conversation_history"] == before["conversation_history"]
    assert snap["question_number"] == 2 and snap["current_question"] == 1
    # the interview goes on, with seq above every saved one and the next planned question
    await again.send({"type": "message", "content": ANSWER, "client_msg_id": "c2"})
    frames = await again.recv_until("stream_end")
    assert frames[0]["type"] == "thinking" and frames[0]["seq"] > first["seq"]
    assert frames[-1]["question_number"] == 3
    # the repeat of an answered message is still recognised after the flush
    await again.send({"type": "message", "content": ANSWER, "client_msg_id": "c1"})
    await again.send({"type": "ping"})
    assert (await again.recv())["type"] == "pong"
    await again.close()
    rows = await ai_rows(iid)
    assert len(rows) == 3


async def test_an_answer_sent_just_before_the_drop_is_saved_and_answered(db, ws_url, standin):
    """The socket drops right after the answer left the client: the frames the server read
    are still acted on (the answer saved, the reply generated and saved), none twice."""
    setup, url, ws, _ = await started(db, ws_url)
    iid = setup.interview.id
    await ws.send({"type": "message", "content": ANSWER, "client_msg_id": "c-drop"})
    await ws.abort()
    rows = await wait_for_rows(iid, 2)
    again = await WSClient.open(url)
    await again.send({"type": "reconnect"})
    snap = await again.recv()
    history = snap["conversation_history"]
    assert [h["role"] for h in history] == ["ai", "candidate", "ai"]
    assert history[1]["client_msg_id"] == "c-drop" and history[2]["content"] == rows[-1].content
    await again.close()
