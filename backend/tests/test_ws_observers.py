"""Observers (`/observe`) and the one-candidate-socket rule, in one process (PROTOCOL.md,
"Endpoints" and "Handshake"): HR, admins and interviewers watch live with the candidate's
`seq`; they cannot take part and never displace the candidate; a newer candidate socket
closes the older with 4009; `GET /interviews/{id}` reports `connected`."""

from __future__ import annotations

import pytest

from app.core.redis import get_redis
from app.models import InterviewStatus, Role
from app.services.ws_connection_manager import get_manager
from app.services.ws_presence import owner_key
from tests.support.api_helpers import API
from tests.support.factories import auth, make_interview, make_user, token
from tests.support.ws import Frame, WSClient
from tests.support.ws_flow import (
    LONG_ANSWER,
    answer,
    assert_same_events,
    events_of,
    frames_for,
    interview_row,
    observe_path,
    of_type,
    open_candidate,
    ping_pong,
    start,
    transcript,
    wait_for,
)

OBSERVER_ROLES = [Role.HR_MANAGER, Role.SUPER_ADMIN, Role.INTERVIEWER]


@pytest.fixture
async def setup(db):
    return await make_interview(db)


async def _observer(ws_url, setup, user) -> tuple[WSClient, Frame]:
    ws = await WSClient.open(ws_url(observe_path(setup), token(user)))
    first = await ws.recv(timeout=5)
    assert first["type"] == "reconnected", first
    return ws, first


async def _connected(client, setup, viewer) -> bool:
    resp = await client.get(f"{API}/interviews/{setup.interview.id}", headers=auth(viewer))
    assert resp.status_code == 200
    return bool(resp.json()["connected"])


@pytest.mark.parametrize("role", OBSERVER_ROLES, ids=lambda r: r.value)
async def test_staff_observe_live_with_the_same_seq(ws_url, setup, db, client, role):
    viewer = await make_user(db, role)
    observer, snapshot = await _observer(ws_url, setup, viewer)
    assert snapshot["status"] == "scheduled"
    assert snapshot["conversation_history"] == []
    assert snapshot["pending_stream"] is None

    candidate = await open_candidate(ws_url, setup)
    cand_frames = await start(candidate)
    cand_frames += await answer(candidate, LONG_ANSWER, cid="o1")
    obs_frames = await observer.recv_until("stream_end")
    obs_frames += await observer.recv_until("stream_end")
    assert_same_events(cand_frames, obs_frames)
    assert next(f["type"] for f in events_of(obs_frames)) == "stream_start"  # greeting, live
    assert of_type(obs_frames, "thinking")[0]["seq"] == of_type(cand_frames, "thinking")[0]["seq"]

    # the candidate was never displaced
    assert candidate.close_code is None
    assert await ping_pong(candidate) == []
    assert await _connected(client, setup, viewer)
    await candidate.close()
    await observer.close()


async def test_observer_joining_mid_interview_gets_the_history_then_live(ws_url, setup, db):
    hr = await make_user(db)
    candidate = await open_candidate(ws_url, setup)
    await start(candidate)
    first = await answer(candidate, LONG_ANSWER, cid="m1")

    observer, snapshot = await _observer(ws_url, setup, hr)
    assert snapshot["status"] == "in_progress"
    assert [h["role"] for h in snapshot["conversation_history"]] == ["ai", "candidate", "ai"]
    assert snapshot["last_seq"] == first[-1]["seq"]
    assert snapshot["question_number"] == 2

    cand_frames = await answer(candidate, LONG_ANSWER, cid="m2")
    obs_frames = await observer.recv_until("stream_end")
    assert_same_events(cand_frames, obs_frames)
    assert min(f["seq"] for f in events_of(obs_frames)) > snapshot["last_seq"]
    await candidate.close()
    await observer.close()


@pytest.mark.parametrize("role", OBSERVER_ROLES, ids=lambda r: r.value)
async def test_observers_cannot_take_part_but_ping_and_reconnect(ws_url, setup, db, client, role):
    interview_id = setup.interview.id
    viewer = await make_user(db, role)
    observer, _ = await _observer(ws_url, setup, viewer)
    candidate = await open_candidate(ws_url, setup)

    # on a scheduled interview: `start` must not start it
    await observer.send({"type": "start"})
    assert (await observer.recv_until("error"))[-1]["code"] == "ACCESS_DENIED"
    assert (await interview_row(interview_id)).status == InterviewStatus.SCHEDULED

    await start(candidate)
    await observer.recv_until("stream_end")
    rows = [(r.id, r.content) for r in await transcript(interview_id)]
    for frame in (
        {"type": "message", "content": LONG_ANSWER, "client_msg_id": "obs-1"},
        {"type": "start"},
        {"type": "end"},
    ):
        await observer.send(frame)
        replies = await observer.recv_until("error")
        assert [f["type"] for f in replies] == ["error"], replies
        assert replies[0]["code"] == "ACCESS_DENIED"
    assert await frames_for(observer, 0.3) == []  # no thinking, no stream, no ended
    assert [(r.id, r.content) for r in await transcript(interview_id)] == rows
    assert (await interview_row(interview_id)).status == InterviewStatus.IN_PROGRESS
    assert await frames_for(candidate, 0.05) == []  # the candidate saw none of it

    # what observers may do
    assert await ping_pong(observer) == []
    await observer.send({"type": "pong"})
    await observer.send({"type": "reconnect", "last_seq": 0})
    snap = (await observer.recv_until("reconnected"))[-1]
    assert [h["role"] for h in snap["conversation_history"]] == ["ai"]
    assert candidate.close_code is None and observer.close_code is None
    assert await _connected(client, setup, viewer)
    await candidate.close()
    await observer.close()


async def test_many_observers_never_displace_the_candidate(ws_url, setup, db, client):
    interview_id = setup.interview.id
    hr = await make_user(db)
    candidate = await open_candidate(ws_url, setup)
    await start(candidate)
    owner_before = await get_redis().get(owner_key(interview_id))
    observers = [
        (await _observer(ws_url, setup, await make_user(db, role)))[0] for role in OBSERVER_ROLES
    ] + [(await _observer(ws_url, setup, hr))[0]]

    assert await get_redis().get(owner_key(interview_id)) == owner_before
    reply = await answer(candidate, LONG_ANSWER, cid="n1")
    assert reply[-1]["type"] == "stream_end"
    assert candidate.close_code is None
    assert await _connected(client, setup, hr)
    for observer in observers:
        got = await observer.recv_until("stream_end")
        assert got[-1]["seq"] == reply[-1]["seq"]
        await observer.close()
    await wait_for(
        lambda: _async_true(len(get_manager().local.get(interview_id, ())) == 1),
        what="the observers' clean-up",
    )
    # observers leaving does not touch the candidate's ownership either
    assert await get_redis().get(owner_key(interview_id)) == owner_before
    assert await _connected(client, setup, hr)
    await candidate.close()


async def _async_true(value: bool) -> bool:
    return value


async def test_candidate_cannot_observe(ws_url, setup):
    ws = await WSClient.open(ws_url(observe_path(setup), token(setup.candidate_user)))
    assert await ws.expect_close(timeout=5) == 4004
    assert ws.received == []


async def test_second_candidate_socket_replaces_the_first_with_4009(ws_url, setup, db, client):
    interview_id = setup.interview.id
    hr = await make_user(db)
    assert not await _connected(client, setup, hr)

    first = await open_candidate(ws_url, setup)
    await start(first)
    assert await _connected(client, setup, hr)

    second = await open_candidate(ws_url, setup)
    assert await first.expect_close(timeout=5) == 4009
    await wait_for(
        lambda: _async_true(len(get_manager().local.get(interview_id, ())) == 1),
        what="the replaced socket's clean-up",
    )
    # the replaced socket's clean-up left the new owner alone
    assert await _connected(client, setup, hr)
    await second.send({"type": "reconnect", "last_seq": 0})
    snap = (await second.recv_until("reconnected"))[-1]
    assert [h["role"] for h in snap["conversation_history"]] == ["ai"]
    reply = await answer(second, LONG_ANSWER, cid="s1")
    assert reply[-1]["type"] == "stream_end"

    await second.close()

    async def disconnected() -> bool:
        return not await _connected(client, setup, hr)

    await wait_for(disconnected, timeout=3, what="connected false after the close")
    assert interview_id not in get_manager().local
