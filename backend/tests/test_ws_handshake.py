"""Handshake: 4001 → 4002 → 4004 → 4003, close codes after accept, Origin, tickets, logs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt
from websockets.exceptions import InvalidStatus

from app.core.security import ALGORITHM, create_access_token, signing_key
from app.models import InterviewStatus, Role
from tests.support.factories import auth, make_interview, make_user, token
from tests.support.ws import WSClient


async def closed_with(url: str, **kwargs: object) -> tuple[int | None, list[dict]]:
    """Open a socket that the server should refuse; the close code and any frames seen."""
    client = await WSClient.open(url, **kwargs)
    code = await client.expect_close()
    return code, client.received


def expired_token(user_id: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "type": "access",
        "iat": int((now - timedelta(hours=2)).timestamp()),
        "exp": int((now - timedelta(hours=1)).timestamp()),
    }
    return jwt.encode(claims, signing_key(), algorithm=ALGORITHM)


async def test_refusals_reach_the_client_as_close_codes_in_order(db, ws_url):
    setup = await make_interview(db)
    iid = setup.interview.id
    other = await make_interview(db, candidate_name="Grace Hopper")
    done = await make_interview(db, status=InterviewStatus.COMPLETED, candidate_name="Alan Turing")
    cancelled = await make_interview(db, status=InterviewStatus.CANCELLED, candidate_name="Edsger")
    inactive = await make_user(db, Role.HR_MANAGER, is_active=False)
    interviewer = await make_user(db, Role.INTERVIEWER)
    path = "/ws/interview/{}"
    cases = [
        # 4001: token first, whatever else is wrong
        (ws_url(path.format(iid)), 4001),
        (ws_url(path.format(iid), ""), 4001),
        (ws_url(path.format(iid), "garbage"), 4001),
        (ws_url(path.format(iid), "a.b.c"), 4001),
        (ws_url(path.format(iid), expired_token(setup.candidate_user.id)), 4001),
        (ws_url(path.format(iid), token(inactive)), 4001),
        (ws_url(path.format(999999), "garbage"), 4001),
        # 4002 before access
        (ws_url(path.format(999999), token(other.candidate_user)), 4002),
        (ws_url(path.format("not-a-number"), token(setup.candidate_user)), 4002),
        # 4004 before state
        (ws_url(path.format(iid), token(other.candidate_user)), 4004),
        (ws_url(path.format(done.interview.id), token(other.candidate_user)), 4004),
        (ws_url(path.format(iid), token(interviewer)), 4004),
        (ws_url(f"/ws/interview/{iid}/observe", token(setup.candidate_user)), 4004),
        (ws_url(f"/ws/voice/{iid}", token(other.candidate_user)), 4004),
        # 4003
        (ws_url(path.format(done.interview.id), token(done.candidate_user)), 4003),
        (ws_url(path.format(cancelled.interview.id), token(cancelled.candidate_user)), 4003),
        (ws_url(f"/ws/interview/{done.interview.id}/observe", token(interviewer)), 4003),
    ]
    for url, expected in cases:
        code, frames = await closed_with(url)
        assert (code, frames) == (expected, []), url.split("?")[0]


async def test_a_refused_socket_registers_nothing(db, ws_url, app):
    from app.core.redis import get_redis
    from app.services.ws_connection_manager import get_manager

    setup = await make_interview(db)
    other = await make_interview(db, candidate_name="Grace Hopper")
    iid = setup.interview.id
    code, _ = await closed_with(ws_url(f"/ws/interview/{iid}", token(other.candidate_user)))
    assert code == 4004
    redis = get_redis()
    assert await redis.exists(f"interview:owner:{iid}", f"interview:session:{iid}") == 0
    assert iid not in get_manager().local


async def test_foreign_origin_is_refused_at_the_handshake(db, ws_url):
    setup = await make_interview(db)
    url = ws_url(f"/ws/interview/{setup.interview.id}", token(setup.candidate_user))
    with pytest.raises(InvalidStatus) as refused:
        await WSClient.open(url, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    ok = await WSClient.open(url, origin="http://127.0.0.1:8000")
    await ok.send({"type": "ping"})
    assert (await ok.recv())["type"] == "pong"
    await ok.close()


async def test_ticket_works_once_and_only_for_its_interview(db, client, ws_url):
    setup = await make_interview(db)
    other = await make_interview(db, candidate_name="Grace Hopper")
    iid = setup.interview.id
    resp = await client.post(
        "/api/v1/auth/ws-ticket", json={"interview_id": iid}, headers=auth(setup.candidate_user)
    )
    assert resp.status_code == 200
    ticket = resp.json()["ticket"]
    ws = await WSClient.open(ws_url(f"/ws/interview/{iid}", ticket))
    await ws.send({"type": "ping"})
    assert (await ws.recv())["type"] == "pong"
    await ws.close()
    code, _ = await closed_with(ws_url(f"/ws/interview/{iid}", ticket))
    assert code == 4001  # used up
    resp = await client.post(
        "/api/v1/auth/ws-ticket", json={"interview_id": iid}, headers=auth(setup.candidate_user)
    )
    wrong = resp.json()["ticket"]
    code, _ = await closed_with(ws_url(f"/ws/interview/{other.interview.id}", wrong))
    assert code == 4001


async def test_tokens_and_tickets_never_reach_the_logs(db, client, ws_url, caplog):
    setup = await make_interview(db)
    iid = setup.interview.id
    jwt_token = create_access_token(setup.candidate_user.id)
    resp = await client.post(
        "/api/v1/auth/ws-ticket", json={"interview_id": iid}, headers=auth(setup.candidate_user)
    )
    ticket = resp.json()["ticket"]
    with caplog.at_level(logging.DEBUG):
        for secret in (jwt_token, ticket):
            ws = await WSClient.open(ws_url(f"/ws/interview/{iid}", secret))
            await ws.send({"type": "ping"})
            await ws.recv()
            await ws.close()
        code, _ = await closed_with(ws_url(f"/ws/interview/{iid}", "bad-" + ticket))
        assert code == 4001
    text = caplog.text
    assert f"/ws/interview/{iid}" in text  # the access lines were captured...
    assert jwt_token not in text and ticket not in text  # ...without the secrets
    assert jwt_token.split(".")[2] not in text
