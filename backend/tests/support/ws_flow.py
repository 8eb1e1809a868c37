"""Small steps of an interview over a real socket, shared by the test_ws_* files."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import col, select

from app.core.database import session_factory
from app.models import Interview, InterviewTranscript, TranscriptRole
from tests.support.factories import InterviewSetup, token
from tests.support.ws import Frame, WSClient

# Long enough (>= FOLLOW_UP_MAX_WORDS) that the interviewer moves on to the next question.
LONG_ANSWER = "I designed our payments service end to end in Python, PostgreSQL and Redis queues."


def long_reply(words: int = 80) -> str:
    """A model reply of `words` pieces (the stand-in streams one word per piece)."""
    return " ".join(f"word{i}" for i in range(words)) + "."


def chat_path(setup: InterviewSetup) -> str:
    return f"/ws/interview/{setup.interview.id}"


def observe_path(setup: InterviewSetup) -> str:
    return f"/ws/interview/{setup.interview.id}/observe"


async def open_candidate(ws_url: Callable[..., str], setup: InterviewSetup, **q: str) -> WSClient:
    return await WSClient.open(ws_url(chat_path(setup), token(setup.candidate_user), **q))


async def start(ws: WSClient, timeout: float = 15.0) -> list[Frame]:
    """`start` and the whole greeting turn."""
    await ws.send({"type": "start"})
    return await ws.recv_until("stream_end", timeout=timeout)


async def answer(
    ws: WSClient, content: str = LONG_ANSWER, cid: str | None = None, timeout: float = 15.0
) -> list[Frame]:
    """A `message` and every frame up to its reply's `stream_end` (or the first error)."""
    frame: dict[str, Any] = {"type": "message", "content": content}
    if cid is not None:
        frame["client_msg_id"] = cid
    await ws.send(frame)
    return await ws.recv_until("stream_end", "error", timeout=timeout)


async def ping_pong(ws: WSClient, timeout: float = 5.0) -> list[Frame]:
    """Send `ping`; the frames that arrived before the `pong` (the socket is alive)."""
    await ws.send({"type": "ping"})
    frames = await ws.recv_until("pong", timeout=timeout)
    return frames[:-1]


async def frames_for(ws: WSClient, seconds: float) -> list[Frame]:
    """Every non-ping frame that arrives within `seconds` (server pings are answered)."""
    out: list[Frame] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = await ws.recv(timeout=left)
        except TimeoutError:
            break
        if frame["type"] == "ping":
            await ws.send({"type": "pong"})
            continue
        out.append(frame)
    return out


async def wait_for(
    check: Callable[[], Awaitable[bool]], timeout: float = 3.0, what: str = "condition"
) -> None:
    """Poll `check` until it holds (for effects with no frame to wait on, e.g. clean-up)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def transcript(interview_id: int) -> list[InterviewTranscript]:
    """The saved turns, read in a fresh session (never a cached identity map)."""
    async with session_factory()() as db:
        rows = await db.exec(
            select(InterviewTranscript)
            .where(InterviewTranscript.interview_id == interview_id)
            .order_by(col(InterviewTranscript.seq))
        )
        return list(rows.all())


async def candidate_rows(interview_id: int) -> list[InterviewTranscript]:
    return [r for r in await transcript(interview_id) if r.role == TranscriptRole.CANDIDATE]


async def ai_rows(interview_id: int) -> list[InterviewTranscript]:
    return [r for r in await transcript(interview_id) if r.role == TranscriptRole.AI]


async def interview_row(interview_id: int) -> Interview:
    async with session_factory()() as db:
        row = await db.get(Interview, interview_id)
        assert row is not None
        return row


def of_type(frames: list[Frame], kind: str) -> list[Frame]:
    return [f for f in frames if f["type"] == kind]


def one(frames: list[Frame], kind: str) -> Frame:
    found = of_type(frames, kind)
    assert len(found) == 1, f"expected one {kind!r} frame, got {[f['type'] for f in frames]}"
    return found[0]


def events_of(frames: list[Frame]) -> list[Frame]:
    """The frames that are events of the interview (they carry `seq`)."""
    return [f for f in frames if "seq" in f]


def assert_same_events(reference: list[Frame], other: list[Frame]) -> None:
    """`other` got the events of `reference` with the same seq; a socket that fell behind
    may get pieces of one stream merged into one frame (carrying its last piece's seq and
    chunk_index), so chunks are compared by seq and by the text they add up to."""

    def key(f: Frame) -> tuple[str, int, str | None]:
        return f["type"], f["seq"], f.get("stream_id")

    ref, got = events_of(reference), events_of(other)
    want = [key(f) for f in ref if f["type"] != "stream_chunk"]
    have = [key(f) for f in got if f["type"] != "stream_chunk"]
    assert have == want, f"events differ:\n got {have}\nwant {want}"
    ref_chunks = {f["seq"]: f for f in of_type(ref, "stream_chunk")}
    for chunk in of_type(got, "stream_chunk"):
        assert chunk["seq"] in ref_chunks, chunk
        assert chunk["chunk_index"] == ref_chunks[chunk["seq"]]["chunk_index"], chunk
    for end in of_type(ref, "stream_end"):
        text = "".join(
            f["content"] for f in of_type(got, "stream_chunk") if f["stream_id"] == end["stream_id"]
        )
        assert text == end["content"], f"chunks {text!r} != stream_end {end['content']!r}"


async def resumed_reply(ws: WSClient, snap: Frame, stream_id: str, seen: list[Frame]) -> str:
    """After `reconnected` on a socket that replaced one dropped mid-reply (`seen`: what the
    dropped one got): the reply's final text. Still generating: the text so far, then the live
    rest after it, adding up with no piece twice; finished meanwhile: in the history, once."""
    pending = snap["pending_stream"]
    if pending is None:
        entries = [h for h in snap["conversation_history"] if h.get("stream_id") == stream_id]
        assert len(entries) == 1
        return str(entries[0]["content"])
    seen_chunks = [c for c in of_type(seen, "stream_chunk") if c["stream_id"] == stream_id]
    assert pending["stream_id"] == stream_id
    assert pending["kind"] == "response"
    assert pending["chunk_index"] >= max((c["chunk_index"] for c in seen_chunks), default=-1)
    assert pending["content"].startswith("".join(c["content"] for c in seen_chunks))
    rest = await ws.recv_until("stream_end", timeout=15)
    chunks = of_type(rest, "stream_chunk")
    assert all(c["stream_id"] == stream_id for c in chunks), (stream_id, pending, rest)
    assert all(c["chunk_index"] > pending["chunk_index"] for c in chunks), (pending, rest)
    assert [c["chunk_index"] for c in chunks] == sorted({c["chunk_index"] for c in chunks})
    end = rest[-1]
    assert end["stream_id"] == stream_id
    assert pending["content"] + "".join(c["content"] for c in chunks) == end["content"]
    assert all(f["seq"] > snap["last_seq"] for f in rest if "seq" in f), (snap, rest)
    return str(end["content"])
