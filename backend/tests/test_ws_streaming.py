"""Streaming: thinking first, stream_start/chunk/end with seq, greeting and closing streamed,
stream=false sends whole turns, and the reply is saved exactly once."""

from __future__ import annotations

from sqlmodel import col, select

from app.core.database import session_factory
from app.models import InterviewTranscript, TranscriptRole
from tests.support.factories import make_interview, token
from tests.support.ws import WSClient, text_of

LONG_ANSWER = "I designed a payments ledger in Python with PostgreSQL and Redis for three years"


async def transcript(interview_id: int) -> list[InterviewTranscript]:
    async with session_factory()() as db:
        rows = await db.exec(
            select(InterviewTranscript)
            .where(InterviewTranscript.interview_id == interview_id)
            .order_by(col(InterviewTranscript.seq))
        )
        return list(rows.all())


def assert_turn(frames: list[dict], kind: str) -> dict:
    """One well-formed streamed turn inside `frames`; returns its stream_end."""
    start = next(f for f in frames if f["type"] == "stream_start")
    assert start["kind"] == kind
    sid = start["stream_id"]
    chunks = [f for f in frames if f["type"] == "stream_chunk" and f["stream_id"] == sid]
    assert chunks, "no stream_chunk"
    indexes = [c["chunk_index"] for c in chunks]
    # a socket that falls behind gets pieces merged; indexes still only ever increase
    assert indexes == sorted(set(indexes)) and indexes[0] >= 0
    end = next(f for f in frames if f["type"] == "stream_end")
    assert end["stream_id"] == sid
    assert end["content"] == text_of(frames, sid)
    seqs = [f["seq"] for f in frames if "seq" in f]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for key in ("question_number", "total_questions", "time_remaining_min", "is_complete"):
        assert key in end
    return end


async def test_greeting_and_reply_stream_with_ordered_seq(db, ws_url, standin):
    setup = await make_interview(db)
    iid = setup.interview.id
    ws = await WSClient.open(ws_url(f"/ws/interview/{iid}", token(setup.candidate_user)))
    await ws.send({"type": "start"})
    greeting = assert_turn(await ws.recv_until("stream_end"), "greeting")
    assert greeting["question_number"] == 1 and greeting["total_questions"] == 3
    assert greeting["is_complete"] is False

    standin.control(token_delay=0.01)
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "c1"})
    frames = await ws.recv_until("stream_end")
    assert frames[0]["type"] == "thinking"
    assert frames[1]["type"] == "stream_start"
    assert frames[0]["seq"] > greeting["seq"]
    end = assert_turn(frames, "response")
    assert end["question_number"] == 2
    rows = await transcript(iid)
    assert [r.role for r in rows] == [
        TranscriptRole.AI,
        TranscriptRole.CANDIDATE,
        TranscriptRole.AI,
    ]
    assert rows[1].seq == frames[0]["seq"] and rows[1].client_msg_id == "c1"
    assert rows[2].seq == end["seq"] and rows[2].content == end["content"]
    assert rows[0].content == greeting["content"]
    await ws.close()


async def test_thinking_comes_before_any_model_call(db, ws_url, standin):
    setup = await make_interview(db)
    iid = setup.interview.id
    ws = await WSClient.open(ws_url(f"/ws/interview/{iid}", token(setup.candidate_user)))
    await ws.send({"type": "start"})
    await ws.recv_until("stream_end")
    standin.control(mode="stall")  # the model never answers
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "c1"})
    first = await ws.recv(timeout=3)
    assert first["type"] == "thinking"
    await ws.close()


async def test_short_answer_gets_one_follow_up_then_moves_on(db, ws_url, standin):
    setup = await make_interview(db)
    ws = await WSClient.open(
        ws_url(f"/ws/interview/{setup.interview.id}", token(setup.candidate_user))
    )
    await ws.send({"type": "start"})
    await ws.recv_until("stream_end")
    await ws.send({"type": "message", "content": "Yes, I did.", "client_msg_id": "a"})
    follow_up = (await ws.recv_until("stream_end"))[-1]
    assert follow_up["question_number"] == 1  # same question, probed once
    await ws.send({"type": "message", "content": "Still short.", "client_msg_id": "b"})
    moved = (await ws.recv_until("stream_end"))[-1]
    assert moved["question_number"] == 2  # no second follow-up
    await ws.close()


async def test_last_answer_streams_the_closing_then_complete_and_close(db, ws_url, standin):
    setup = await make_interview(db, questions=["Only question?"])
    iid = setup.interview.id
    ws = await WSClient.open(ws_url(f"/ws/interview/{iid}", token(setup.candidate_user)))
    await ws.send({"type": "start"})
    await ws.recv_until("stream_end")
    standin.control(replies=["Thank you for your time today. HR will be in touch soon."])
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "c1"})
    frames = await ws.recv_until("complete")
    end = assert_turn(frames, "closing")
    assert end["is_complete"] is True
    assert "?" not in end["content"]
    complete = frames[-1]
    assert complete["seq"] > end["seq"] and complete["content"]
    assert await ws.expect_close() == 1000
    rows = await transcript(iid)
    assert rows[-1].kind == "closing"


async def test_stream_false_sends_whole_turns(db, ws_url, standin):
    setup = await make_interview(db, questions=["First?", "Second?"])
    iid = setup.interview.id
    ws = await WSClient.open(
        ws_url(f"/ws/interview/{iid}", token(setup.candidate_user), stream="false")
    )
    await ws.send({"type": "start"})
    greeting = await ws.recv()
    assert greeting["type"] == "greeting" and greeting["question_number"] == 1
    for key in ("seq", "content", "total_questions", "time_remaining_min"):
        assert key in greeting
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "c1"})
    frames = await ws.recv_until("response")
    assert [f["type"] for f in frames] == ["thinking", "response"]
    assert frames[1]["question_number"] == 2
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "c2"})
    frames = await ws.recv_until("complete")
    assert [f["type"] for f in frames] == ["thinking", "response", "complete"]
    assert await ws.expect_close() == 1000


async def test_offline_provider_streams_word_by_word(db, ws_url, settings_env):
    settings_env(LLM_PROVIDER="offline", OFFLINE_WORDS_PER_SEC=200)
    setup = await make_interview(db)
    ws = await WSClient.open(
        ws_url(f"/ws/interview/{setup.interview.id}", token(setup.candidate_user))
    )
    await ws.send({"type": "start"})
    frames = await ws.recv_until("stream_end")
    end = assert_turn(frames, "greeting")
    assert "Ada Lovelace" in end["content"] and "Backend Engineer" in end["content"]
    assert len([f for f in frames if f["type"] == "stream_chunk"]) > 10
    await ws.close()


async def test_an_answer_sent_the_moment_a_reply_ends_is_never_refused(db, ws_url, standin):
    """`stream_end` means the turn is over: the next answer starts its turn even while the
    previous one is still wrapping up (lease release, bookkeeping), never TURN_IN_PROGRESS."""
    questions = [f"Question {i}?" for i in range(12)]
    setup = await make_interview(db, questions=questions)
    ws = await WSClient.open(
        ws_url(f"/ws/interview/{setup.interview.id}", token(setup.candidate_user))
    )
    await ws.send({"type": "start"})
    await ws.recv_until("stream_end")
    for i in range(10):
        await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": f"fast-{i}"})
        frames = await ws.recv_until("stream_end", "error")
        assert frames[-1]["type"] == "stream_end", frames[-1]
        assert frames[-1]["question_number"] == i + 2
    rows = await transcript(setup.interview.id)
    assert len(rows) == 21  # greeting + 10 answers + 10 replies, each once
    await ws.close()
