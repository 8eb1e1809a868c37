"""How an interview ends, over the socket (PROTOCOL.md): `end` → `ended`, evaluation queued,
close 1000 (also mid-reply, dropping the partial turn); the last answer or the end of the
time → closing stream, `complete`, close 1000 (pushed by the server when the candidate is
silent); finished or cancelled interviews refuse sockets with 4003, and cancelling closes the
sockets that are open.

Evaluations run in-process here in both runs (conftest sets EVALUATION_BACKEND=inprocess);
the Celery path end to end is test_celery_worker.py."""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.core.database import session_factory
from app.models import Interview, InterviewStatus, Role, utcnow
from app.services import lifecycle
from app.services.interview_events import get_hub
from app.services.interview_session import load_session, save_session
from tests.support.api_helpers import API
from tests.support.factories import auth, make_interview, make_user, token
from tests.support.ws import WSClient
from tests.support.ws_flow import (
    LONG_ANSWER,
    ai_rows,
    answer,
    candidate_rows,
    interview_row,
    long_reply,
    observe_path,
    of_type,
    one,
    open_candidate,
    start,
    wait_for,
)


@pytest.fixture
async def setup(db):
    return await make_interview(db)


async def _refused(ws_url, path: str, user) -> int | None:
    ws = await WSClient.open(ws_url(path, token(user)))
    code = await ws.expect_close(timeout=5)
    assert ws.received == []  # no application message before the close
    return code


async def _time_is_up(interview_id: int) -> None:
    """Move the interview's start two hours back, in the database and in the live session
    (both hold the same start time, as they would after two hours of real time)."""
    started = utcnow() - timedelta(hours=2)
    async with session_factory()() as db:
        await db.exec(
            update(Interview).where(col(Interview.id) == interview_id).values(started_at=started)
        )
        await db.commit()
    session = await load_session(interview_id)
    assert session is not None and session.started_at is not None
    session.started_at = started.isoformat()
    await save_session(session)


# -- evaluation ---------------------------------------------------------------------------------


async def _evaluation(client, interview_id: int, hr) -> tuple[int, dict]:
    resp = await client.get(f"{API}/interviews/{interview_id}/evaluation", headers=auth(hr))
    return resp.status_code, resp.json()


async def _assert_evaluation_done(client, interview_id: int, hr) -> None:
    """Queued when the interview ended: 202 pending until it is made, then 200 done."""
    seen: list[tuple[int, dict]] = []

    async def done() -> bool:
        seen.append(await _evaluation(client, interview_id, hr))
        return seen[-1][0] == 200

    await wait_for(done, timeout=20, what="the evaluation")
    assert all(s == (202, {"status": "pending"}) for s in seen[:-1]), seen
    assert seen[-1][1]["status"] == "done", seen[-1]
    assert seen[-1][1]["overall_score"] is not None


# -- end --------------------------------------------------------------------------------------


async def test_end_sends_ended_queues_the_evaluation_and_closes_1000(ws_url, setup, db, client):
    interview_id = setup.interview.id
    hr = await make_user(db)
    ws = await open_candidate(ws_url, setup)
    greeting = await start(ws)
    reply = await answer(ws, LONG_ANSWER, cid="e1")

    await ws.send({"type": "end"})
    frames = await ws.recv_until("ended")
    assert [f["type"] for f in frames] == ["ended"]
    ended = frames[0]
    assert isinstance(ended["seq"], int) and ended["seq"] > reply[-1]["seq"] > greeting[-1]["seq"]
    assert ended["content"]
    assert await ws.expect_close() == 1000

    row = await interview_row(interview_id)
    assert row.status == InterviewStatus.COMPLETED and row.ended_at is not None
    await _assert_evaluation_done(client, interview_id, hr)
    assert await _refused(ws_url, f"/ws/interview/{interview_id}", setup.candidate_user) == 4003


async def test_end_during_a_streaming_reply_drops_that_reply(ws_url, setup, standin):
    interview_id = setup.interview.id
    ws = await open_candidate(ws_url, setup)
    await start(ws)
    standin.control(token_delay=0.03, replies=[long_reply(80)])

    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "x1"})
    head = await ws.recv_until("stream_chunk")
    stream_id = one(head, "stream_start")["stream_id"]
    await ws.send({"type": "end"})
    rest = await ws.recv_until("ended")
    assert of_type(rest, "stream_end") == [] and of_type(rest, "error") == [], rest
    assert await ws.expect_close() == 1000

    await lifecycle.drain()  # nothing of the cancelled turn is saved later either
    saved = await ai_rows(interview_id)
    assert [r.kind for r in saved] == ["greeting"]
    assert all(r.stream_id != stream_id for r in saved)
    assert [r.client_msg_id for r in await candidate_rows(interview_id)] == ["x1"]
    assert (await interview_row(interview_id)).status == InterviewStatus.COMPLETED


# -- complete ---------------------------------------------------------------------------------


async def test_answering_the_last_question_closes_and_completes(ws_url, db, client):
    setup = await make_interview(db, questions=["Tell me about a system you designed."])
    interview_id = setup.interview.id
    hr = await make_user(db)
    ws = await open_candidate(ws_url, setup)
    await start(ws)

    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "last"})
    frames = await ws.recv_until("complete")
    types = [f["type"] for f in frames]
    assert types[:2] == ["thinking", "stream_start"] and types[-2:] == ["stream_end", "complete"]
    start_frame, end_frame, complete = frames[1], frames[-2], frames[-1]
    assert start_frame["kind"] == "closing"
    assert end_frame["is_complete"] is True
    assert end_frame["stream_id"] == start_frame["stream_id"]
    assert end_frame["question_number"] == end_frame["total_questions"] == 1
    assert complete["seq"] > end_frame["seq"] and complete["content"]
    assert await ws.expect_close() == 1000

    assert (await interview_row(interview_id)).status == InterviewStatus.COMPLETED
    closing = (await ai_rows(interview_id))[-1]
    assert closing.kind == "closing" and closing.content == end_frame["content"]
    await _assert_evaluation_done(client, interview_id, hr)
    # a completed interview refuses every new socket
    path = f"/ws/interview/{interview_id}"
    assert await _refused(ws_url, path, setup.candidate_user) == 4003
    assert await _refused(ws_url, path, hr) == 4003
    assert await _refused(ws_url, observe_path(setup), hr) == 4003


async def test_a_finished_interview_leaves_no_event_log_behind_once_its_sockets_are_gone(
    ws_url, db
):
    """A process keeps an event log per interview it serves; a finished one refuses every
    socket (4003), so its log goes once its sockets have closed and its events are flushed,
    while an interview still in progress keeps its own (docs/benchmarks.md: one log per
    interview ever served, until the process restarted)."""
    hub = get_hub()
    done = await make_interview(db, questions=["Tell me about a system you designed."])
    going = await make_interview(db, questions=["First?", "Second?"])
    ws_going = await open_candidate(ws_url, going)
    await start(ws_going)
    ws = await open_candidate(ws_url, done)
    await start(ws)
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "last"})
    await ws.recv_until("complete")
    assert await ws.expect_close() == 1000

    async def released() -> bool:
        await hub.flushed()
        return done.interview.id not in hub.logs

    await wait_for(released, what="the finished interview's log to go")
    assert going.interview.id in hub.logs  # in progress, its socket open: kept
    await ws_going.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "a1"})
    frames = await ws_going.recv_until("stream_end")
    assert one(frames, "stream_end")["is_complete"] is False
    await ws_going.close()
    # the candidate may come back to an interview in progress: its log stays
    await hub.flushed()
    assert going.interview.id in hub.logs
    path = f"/ws/interview/{done.interview.id}"
    assert await _refused(ws_url, path, done.candidate_user) == 4003
    assert done.interview.id not in hub.logs  # the refusal did not bring it back


async def test_time_up_the_next_answer_gets_the_closing_turn(ws_url, setup):
    interview_id = setup.interview.id
    ws = await open_candidate(ws_url, setup)
    await start(ws)
    await _time_is_up(interview_id)

    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "late"})
    frames = await ws.recv_until("complete")
    assert one(frames, "stream_start")["kind"] == "closing"
    end = one(frames, "stream_end")
    assert end["is_complete"] is True and end["time_remaining_min"] == 0
    assert frames[-1]["type"] == "complete"
    assert await ws.expect_close() == 1000
    # the late answer was kept, then the interview closed: 3 questions, only one asked
    assert [r.client_msg_id for r in await candidate_rows(interview_id)] == ["late"]
    assert [r.kind for r in await ai_rows(interview_id)] == ["greeting", "closing"]
    assert (await interview_row(interview_id)).status == InterviewStatus.COMPLETED


async def test_time_up_while_the_candidate_is_silent_the_server_closes(ws_url, setup, settings_env):
    settings_env(WS_HEARTBEAT_INTERVAL_SEC=0.3, WS_HEARTBEAT_TIMEOUT_SEC=10)
    interview_id = setup.interview.id
    ws = await open_candidate(ws_url, setup)
    await start(ws)
    await _time_is_up(interview_id)

    t0 = time.monotonic()
    frames = await ws.recv_until("complete", timeout=5)  # only pongs go back
    assert time.monotonic() - t0 < 2
    assert [f["type"] for f in frames if f["type"] != "stream_chunk"] == [
        "stream_start",
        "stream_end",
        "complete",
    ]
    assert frames[0]["kind"] == "closing"
    assert one(frames, "stream_end")["is_complete"] is True
    assert await ws.expect_close() == 1000
    assert [r.kind for r in await ai_rows(interview_id)] == ["greeting", "closing"]
    assert await candidate_rows(interview_id) == []
    assert (await interview_row(interview_id)).status == InterviewStatus.COMPLETED


# -- cancel -----------------------------------------------------------------------------------
# PROTOCOL.md is silent on cancelling a running interview. What a user expects: the candidate
# is told (`error INTERVIEW_INVALID_STATE`) and the socket closes with 4003 (no reconnect);
# an AI turn in flight stops and is not saved; observers are closed the same way.


async def test_cancel_closes_the_open_sockets_with_4003(ws_url, setup, db, client, standin):
    interview_id = setup.interview.id
    hr = await make_user(db)
    admin = await make_user(db, Role.SUPER_ADMIN)
    ws = await open_candidate(ws_url, setup)
    await start(ws)
    observer = await WSClient.open(ws_url(observe_path(setup), token(admin)))
    assert (await observer.recv())["type"] == "reconnected"
    standin.control(token_delay=0.03, replies=[long_reply(80)])
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "c1"})
    head = await ws.recv_until("stream_chunk")
    stream_id = one(head, "stream_start")["stream_id"]

    resp = await client.post(f"{API}/interviews/{interview_id}/cancel", headers=auth(hr))
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"

    for sock in (ws, observer):
        before_close: list = []
        with contextlib.suppress(Exception):
            while True:
                before_close.append(await sock.recv(timeout=5))
        errors = of_type(before_close, "error")
        assert [e["code"] for e in errors] == ["INTERVIEW_INVALID_STATE"], before_close
        assert of_type(before_close, "stream_end") == []
        assert sock.close_code == 4003

    await lifecycle.drain()
    assert all(r.stream_id != stream_id for r in await ai_rows(interview_id))
    assert (await interview_row(interview_id)).status == InterviewStatus.CANCELLED

    async def disconnected() -> bool:
        resp = await client.get(f"{API}/interviews/{interview_id}", headers=auth(hr))
        return resp.json()["connected"] is False

    await wait_for(disconnected, what="connected false after the cancel")

    async def released() -> bool:  # its sockets closed, its turn stopped: nothing reads it
        await get_hub().flushed()
        return interview_id not in get_hub().logs

    await wait_for(released, what="the cancelled interview's event log to go")
    path = f"/ws/interview/{interview_id}"
    assert await _refused(ws_url, path, setup.candidate_user) == 4003
    assert await _refused(ws_url, observe_path(setup), hr) == 4003


async def test_cancelled_before_start_refuses_sockets(ws_url, setup, db, client):
    hr = await make_user(db)
    resp = await client.post(f"{API}/interviews/{setup.interview.id}/cancel", headers=auth(hr))
    assert resp.status_code == 200
    path = f"/ws/interview/{setup.interview.id}"
    assert await _refused(ws_url, path, setup.candidate_user) == 4003
    assert await _refused(ws_url, f"/ws/voice/{setup.interview.id}", setup.candidate_user) == 4003
