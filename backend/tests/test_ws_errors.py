"""Error handling on the chat socket (PROTOCOL.md, "Error codes"), with a real client
against the running uvicorn: every malformed frame is INVALID_MESSAGE and the socket stays
usable; client_msg_id dedup and retry after AI_UNAVAILABLE; TURN_IN_PROGRESS; RATE_LIMITED;
INTERVIEW_INVALID_STATE before `start`; INTERNAL_ERROR never carries exception text."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import orjson
import pytest

from app.core.redis import get_redis
from app.models import InterviewStatus
from app.services.interview_conductor_service import turn_key
from app.services.interview_session import session_key
from tests.support import ws as ws_support
from tests.support.factories import make_interview
from tests.support.openai_standin import DEFAULT_REPLY, _pieces
from tests.support.ws_flow import (
    LONG_ANSWER,
    ai_rows,
    answer,
    candidate_rows,
    frames_for,
    interview_row,
    long_reply,
    of_type,
    one,
    open_candidate,
    ping_pong,
    start,
    transcript,
)

FIVE_QUESTIONS = [
    "Tell me about a system you designed end to end.",
    "How do you keep a PostgreSQL database fast as it grows?",
    "Describe a production incident you handled.",
    "How do you review a teammate's code?",
    "What would you improve in your last team's process?",
]

# Text that would mean an exception leaked to the client.
LEAK_PATTERNS = re.compile(
    r"Traceback|Error\(|Exception|File \"|line \d+|"
    r"\b(JSONDecodeError|ValidationError|IntegrityError|KeyError|TypeError|ValueError|"
    r"AttributeError|RuntimeError|AssertionError|OperationalError|DBAPIError|"
    r"orjson|sqlalchemy|asyncpg|pydantic_core|redis\.)",
)


@pytest.fixture(autouse=True)
def _no_leaks_in_errors(monkeypatch: pytest.MonkeyPatch):
    """Every error frame any socket of this file receives is checked for exception text."""
    seen: list[dict[str, Any]] = []
    original = ws_support.WSClient.recv

    async def recv(self: ws_support.WSClient, timeout: float = 10.0) -> dict[str, Any]:
        frame = await original(self, timeout)
        seen.append(frame)
        return frame

    monkeypatch.setattr(ws_support.WSClient, "recv", recv)
    yield
    for frame in seen:
        if frame.get("type") == "error":
            assert isinstance(frame.get("content"), str) and frame["content"].strip()
            assert not LEAK_PATTERNS.search(frame["content"]), frame


@pytest.fixture
async def setup(db):
    return await make_interview(db, questions=FIVE_QUESTIONS)


async def _running(ws_url, setup):
    """A candidate socket on an interview that has been started and greeted."""
    ws = await open_candidate(ws_url, setup)
    await start(ws)
    return ws


# -- INVALID_MESSAGE --------------------------------------------------------------------------

OVERSIZE = 16384 + 1
MALFORMED: dict[str, str | bytes] = {
    "not_json": '{"type": "message", "content": ',
    "json_array": '[{"type": "ping"}]',
    "json_number": "42",
    "json_string": '"message"',
    "json_null": "null",
    "unknown_type": '{"type": "shout", "content": "hello"}',
    "non_string_type": '{"type": 7}',
    "missing_type": '{"content": "I have six years of Python experience."}',
    "message_without_content": '{"type": "message", "client_msg_id": "m1"}',
    "empty_content": '{"type": "message", "content": "", "client_msg_id": "m1"}',
    "whitespace_content": '{"type": "message", "content": " \\n\\t  ", "client_msg_id": "m1"}',
    "non_string_content": '{"type": "message", "content": 42, "client_msg_id": "m1"}',
    "list_content": '{"type": "message", "content": ["a", "b"], "client_msg_id": "m1"}',
    "null_content": '{"type": "message", "content": null, "client_msg_id": "m1"}',
    "non_string_client_msg_id": (
        '{"type": "message", "content": "I led a payments migration.", "client_msg_id": 5}'
    ),
    "non_int_last_seq": '{"type": "reconnect", "last_seq": "7"}',
    "audio_on_chat_socket": '{"type": "audio", "format": "webm", "data": "AAAA"}',
    "binary_frame": b'{"type": "message", "content": "I led a payments migration."}',
    "oversize_text": orjson.dumps({"type": "message", "content": "x" * OVERSIZE}).decode(),
    # the size limit must not depend on what the text happens to contain
    "oversize_text_mentioning_audio": orjson.dumps(
        {"note": "audio", "type": "message", "content": "y" * OVERSIZE}
    ).decode(),
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_malformed_frame_is_invalid_message_and_socket_stays_usable(ws_url, setup, name):
    interview_id = setup.interview.id
    ws = await _running(ws_url, setup)
    before = await transcript(interview_id)

    await ws.send(MALFORMED[name])
    frames = await ws.recv_until("error", timeout=5)
    assert [f["type"] for f in frames] == ["error"], frames
    error = frames[0]
    assert error["code"] == "INVALID_MESSAGE"
    assert "seq" not in error  # a reply to this socket, not an event of the interview

    # still alive, nothing else came and nothing was saved
    assert await ping_pong(ws) == []
    after = await transcript(interview_id)
    assert [r.id for r in after] == [r.id for r in before]

    # and a valid message still gets its reply
    reply = await answer(ws, LONG_ANSWER, cid="valid-1")
    assert [f["type"] for f in reply][:2] == ["thinking", "stream_start"]
    assert reply[-1]["type"] == "stream_end"
    assert ws.close_code is None
    await ws.close()


# -- client_msg_id dedup ----------------------------------------------------------------------


async def test_repeated_client_msg_id_after_its_reply_gets_nothing_and_changes_nothing(
    ws_url, setup, standin
):
    interview_id = setup.interview.id
    ws = await _running(ws_url, setup)
    first = await answer(ws, LONG_ANSWER, cid="dup-1")
    assert first[-1]["type"] == "stream_end"
    rows_before = [(r.id, r.seq, r.role, r.content) for r in await transcript(interview_id)]
    model_calls = len(standin.requests())

    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "dup-1"})
    # the same id with other text is still the same message
    other = {"type": "message", "content": "Something else entirely.", "client_msg_id": "dup-1"}
    await ws.send(other)
    assert await frames_for(ws, 1.0) == []  # no thinking, no stream, no error

    rows_after = [(r.id, r.seq, r.role, r.content) for r in await transcript(interview_id)]
    assert rows_after == rows_before
    assert len(standin.requests()) == model_calls  # the model was not asked again
    assert await ping_pong(ws) == []
    await ws.close()


# -- AI_UNAVAILABLE ---------------------------------------------------------------------------


async def test_ai_unavailable_keeps_the_message_and_a_resend_retries_the_turn(
    ws_url, setup, standin
):
    interview_id = setup.interview.id
    ws = await _running(ws_url, setup)
    standin.control(mode="fail", times=1)

    frames = await answer(ws, LONG_ANSWER, cid="c-fail")
    types = [f["type"] for f in frames]
    assert types[0] == "thinking"
    assert types[-1] == "error", types
    assert "stream_end" not in types
    error = frames[-1]
    assert error["code"] == "AI_UNAVAILABLE"
    starts = of_type(frames, "stream_start")
    if starts:
        assert error["stream_id"] == starts[0]["stream_id"]
    cands = [r for r in await candidate_rows(interview_id) if r.client_msg_id == "c-fail"]
    assert len(cands) == 1  # the answer is kept
    assert cands[0].seq == frames[0]["seq"]  # `thinking` made it durable
    assert [r for r in await ai_rows(interview_id) if r.reply_to_id == cands[0].id] == []
    assert ws.close_code is None

    # the same client_msg_id again: the turn is retried, the answer is not saved twice
    retry = await answer(ws, LONG_ANSWER, cid="c-fail")
    retry_types = [f["type"] for f in retry]
    assert retry_types[:2] == ["thinking", "stream_start"], retry_types
    end = retry[-1]
    assert end["type"] == "stream_end"
    if starts:
        assert end["stream_id"] != starts[0]["stream_id"]
    cands = [r for r in await candidate_rows(interview_id) if r.client_msg_id == "c-fail"]
    assert len(cands) == 1
    replies = [r for r in await ai_rows(interview_id) if r.reply_to_id == cands[0].id]
    assert len(replies) == 1
    assert replies[0].stream_id == end["stream_id"]
    assert replies[0].content == end["content"]
    await ws.close()


async def test_model_failure_mid_stream_is_ai_unavailable_with_that_stream_and_no_end(
    ws_url, setup, standin
):
    interview_id = setup.interview.id
    ws = await _running(ws_url, setup)
    standin.control(mode="fail_mid_stream", fail_after=3, times=1)

    frames = await answer(ws, LONG_ANSWER, cid="c-mid")
    types = [f["type"] for f in frames]
    assert types[-1] == "error", types
    stream_id = one(frames, "stream_start")["stream_id"]
    chunks = of_type(frames, "stream_chunk")
    assert chunks, "some pieces were sent before the model died"
    # fail_after=3: the reply's first three words, in as many pieces as network reads
    assert "".join(c["content"] for c in chunks) == "".join(_pieces(DEFAULT_REPLY)[:3])
    assert [c["chunk_index"] for c in chunks] == list(range(len(chunks)))
    error = frames[-1]
    assert error["code"] == "AI_UNAVAILABLE"
    assert error["stream_id"] == stream_id
    assert "stream_end" not in types
    assert [r for r in await ai_rows(interview_id) if r.stream_id == stream_id] == []

    # nothing more of the failed stream ever arrives; a retry streams a new one
    retry = await answer(ws, LONG_ANSWER, cid="c-mid")
    assert all(f.get("stream_id") != stream_id for f in retry), retry
    assert retry[-1]["type"] == "stream_end"
    cands = [r for r in await candidate_rows(interview_id) if r.client_msg_id == "c-mid"]
    assert len(cands) == 1
    replies = [r for r in await ai_rows(interview_id) if r.reply_to_id == cands[0].id]
    assert [r.stream_id for r in replies] == [retry[-1]["stream_id"]]
    await ws.close()


# -- TURN_IN_PROGRESS -------------------------------------------------------------------------


async def test_message_while_a_reply_streams_is_turn_in_progress(ws_url, setup, standin):
    interview_id = setup.interview.id
    ws = await _running(ws_url, setup)
    standin.control(token_delay=0.02, replies=[long_reply(40)])

    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "t1"})
    head = await ws.recv_until("stream_chunk")
    stream_id = one(head, "stream_start")["stream_id"]
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "t2"})
    middle = await ws.recv_until("error")
    assert middle[-1]["code"] == "TURN_IN_PROGRESS"
    assert all(f["type"] == "stream_chunk" for f in middle[:-1])

    rest = await ws.recv_until("stream_end")
    assert rest[-1]["stream_id"] == stream_id  # the first reply completes
    assert of_type(rest, "thinking") == []  # the refused message started nothing
    assert [r.client_msg_id for r in await candidate_rows(interview_id)] == ["t1"]

    # once the reply is done, the refused message can be sent again
    standin.control(token_delay=0)
    again = await answer(ws, LONG_ANSWER, cid="t2")
    assert again[-1]["type"] == "stream_end"
    assert [r.client_msg_id for r in await candidate_rows(interview_id)] == ["t1", "t2"]
    await ws.close()


# -- RATE_LIMITED -----------------------------------------------------------------------------


async def test_rate_limit_counts_every_message_frame(ws_url, setup, standin, settings_env):
    settings_env(WS_RATE_LIMIT_PER_MIN=3)
    interview_id = setup.interview.id
    into_minute = time.time() % 60
    if into_minute > 57:  # the counter is per clock minute: don't straddle its boundary
        await asyncio.sleep(60.05 - into_minute)
    ws = await _running(ws_url, setup)  # `start` is not a message: not counted
    standin.control(token_delay=0.02, replies=[long_reply(20)])

    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "r1"})  # 1
    await ws.recv_until("stream_chunk")
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "r2"})  # 2
    refused = await ws.recv_until("error")
    assert refused[-1]["code"] == "TURN_IN_PROGRESS"
    await ws.recv_until("stream_end")
    standin.control(token_delay=0)
    ok = await answer(ws, LONG_ANSWER, cid="r3")  # 3
    assert ok[-1]["type"] == "stream_end"

    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "r4"})  # 4
    limited = await ws.recv_until("error", timeout=5)
    assert [f["type"] for f in limited] == ["error"]
    assert limited[0]["code"] == "RATE_LIMITED"
    assert await frames_for(ws, 0.3) == []  # no thinking, no stream
    assert [r.client_msg_id for r in await candidate_rows(interview_id)] == ["r1", "r3"]
    # r4 was counted in its turn's first round trip, which took the lease: given back
    assert await get_redis().get(turn_key(interview_id)) is None
    assert await ping_pong(ws) == []  # the socket stays open
    assert ws.close_code is None
    await ws.close()


# -- INTERVIEW_INVALID_STATE ------------------------------------------------------------------


async def test_message_before_start_is_invalid_state(ws_url, setup):
    interview_id = setup.interview.id
    ws = await open_candidate(ws_url, setup)
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "early"})
    frames = await ws.recv_until("error")
    assert [f["type"] for f in frames] == ["error"]
    assert frames[0]["code"] == "INTERVIEW_INVALID_STATE"
    assert await transcript(interview_id) == []
    assert (await interview_row(interview_id)).status == InterviewStatus.SCHEDULED

    # the socket is fine: start, then the same message gets its reply
    greeting = await start(ws)
    assert greeting[-1]["type"] == "stream_end"
    reply = await answer(ws, LONG_ANSWER, cid="early")
    assert reply[-1]["type"] == "stream_end"
    assert [r.client_msg_id for r in await candidate_rows(interview_id)] == ["early"]
    await ws.close()


# -- INTERNAL_ERROR ---------------------------------------------------------------------------
# Provoked from outside, without patching the app: the live session in Redis is corrupted
# (as a bad deploy or a stray write could). The client must get a bare code, never the
# exception, and the socket must survive; once the key is gone the session is rebuilt from
# the database and the interview goes on.

CORRUPT = [
    b"{not json at all",
    b'{"interview_id": "x", "unexpected_field": 1}',
    b"z:eJzLSM3JyVcozy/KSQEAGgsEXQ==",  # the compressed form (memory://) of "hello world"
]


@pytest.mark.parametrize("garbage", CORRUPT, ids=["not_json", "wrong_fields", "compressed_text"])
async def test_internal_error_on_a_turn_carries_no_exception_text(ws_url, setup, garbage):
    interview_id = setup.interview.id
    ws = await _running(ws_url, setup)
    await get_redis().set(session_key(interview_id), garbage)

    frames = await answer(ws, LONG_ANSWER, cid="ie-1")
    error = frames[-1]
    assert error["type"] == "error" and error["code"] == "INTERNAL_ERROR", frames
    assert not LEAK_PATTERNS.search(error["content"])
    assert await ping_pong(ws) == []
    assert ws.close_code is None

    await get_redis().delete(session_key(interview_id))
    retry = await answer(ws, LONG_ANSWER, cid="ie-1")
    assert retry[-1]["type"] == "stream_end"
    assert [r.client_msg_id for r in await candidate_rows(interview_id)] == ["ie-1"]
    await ws.close()


@pytest.mark.parametrize("action", ["start", "reconnect"])
async def test_internal_error_outside_a_turn_keeps_the_socket_open(ws_url, setup, action):
    interview_id = setup.interview.id
    ws = await _running(ws_url, setup)
    await get_redis().set(session_key(interview_id), CORRUPT[0])

    await ws.send({"type": action, **({"last_seq": 0} if action == "reconnect" else {})})
    frames = await ws.recv_until("error", "reconnected", timeout=5)
    error = frames[-1]
    assert error["type"] == "error" and error["code"] == "INTERNAL_ERROR", frames
    assert await ping_pong(ws) == []
    assert ws.close_code is None

    await get_redis().delete(session_key(interview_id))
    await ws.send({"type": "reconnect", "last_seq": 0})
    snapshot = (await ws.recv_until("reconnected"))[-1]
    assert snapshot["status"] == "in_progress"
    assert len(snapshot["conversation_history"]) == 1  # the greeting, from the database
    await ws.close()
