"""What a socket's opening costs the database: the ticket request, the handshake and `start`
each read or write in one statement, hold no pooled connection across a Redis round trip, and
on PostgreSQL send no BEGIN / ROLLBACK / COMMIT around their statements and a one-`;` ping.

Under load every round trip is a loop iteration, and the pool (at most 30 connections on
PostgreSQL) is what a burst of socket opens and the turns' saves share (`make bench`,
docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from app.core.database import get_engine
from app.core.redis import get_redis
from app.models import MAX_ID, InterviewStatus, Role
from app.services.interview_conductor_service import InterviewConductorService
from tests.support.factories import auth, make_interview, make_user, token
from tests.support.ws import WSClient

API = "/api/v1"


class Wire:
    """Every SQL statement the app executes and, on PostgreSQL, the simple queries asyncpg
    sends on a checked-out connection (BEGIN, ROLLBACK, COMMIT), in order. (The pool's ping
    runs before the checkout's listeners: `test_database_pool.py` counts it.)"""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def statements(self) -> list[str]:
        return [s for s in self.sent if s.split(None, 1)[0].upper() in ("SELECT", "UPDATE")]

    def transaction_control(self) -> list[str]:
        return [
            s
            for s in self.sent
            if s.rstrip(";").split(" ", 1)[0] in ("BEGIN", "ROLLBACK", "COMMIT")
        ]

    async def clear(self) -> None:
        await self.settle()
        self.sent.clear()

    @staticmethod
    async def settle() -> None:
        """asyncpg calls its query loggers a loop iteration after the query."""
        for _ in range(2):
            await asyncio.sleep(0)


@pytest.fixture
def wire(app: Any) -> Iterator[Wire]:
    engine = get_engine().sync_engine
    seen = Wire()
    postgres = engine.dialect.name == "postgresql"

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.sent.append(statement.strip())

    def on_query(record: Any) -> None:
        seen.sent.append(record.query.strip())

    def on_checkout(dbapi_conn: Any, *_: Any) -> None:
        dbapi_conn.driver_connection.add_query_logger(on_query)

    def on_checkin(dbapi_conn: Any, *_: Any) -> None:
        if dbapi_conn is not None:
            dbapi_conn.driver_connection.remove_query_logger(on_query)

    event.listen(engine, "before_cursor_execute", on_statement)
    if postgres:
        event.listen(engine.pool, "checkout", on_checkout)
        event.listen(engine.pool, "checkin", on_checkin)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        if postgres:
            event.remove(engine.pool, "checkout", on_checkout)
            event.remove(engine.pool, "checkin", on_checkin)


def postgres() -> bool:
    return get_engine().dialect.name == "postgresql"


async def test_a_ticket_is_one_statement_and_no_connection_is_held_while_redis_stores_it(
    db, client, wire, monkeypatch
):
    setup = await make_interview(db)
    iid = setup.interview.id
    await db.commit()
    pool = get_engine().sync_engine.pool
    redis = get_redis()
    store = redis.set
    held: list[int] = []

    async def observed_set(*args: Any, **kwargs: Any) -> Any:
        held.append(pool.checkedout())  # type: ignore[attr-defined]
        return await store(*args, **kwargs)

    monkeypatch.setattr(redis, "set", observed_set)
    await wire.clear()
    resp = await client.post(
        f"{API}/auth/ws-ticket", json={"interview_id": iid}, headers=auth(setup.candidate_user)
    )
    assert resp.status_code == 200, resp.text
    await wire.settle()
    assert held == [0]
    assert len(wire.statements()) == 1, wire.sent  # the user, the interview, whose it is
    assert wire.transaction_control() == []


async def test_a_refused_ticket_reads_once_too_and_keeps_the_order_401_404_403_409(
    db, client, wire
):
    setup = await make_interview(db)
    other = await make_interview(db, candidate_name="Grace Hopper")
    done = await make_interview(db, status=InterviewStatus.COMPLETED, candidate_name="Ada")
    inactive = await make_user(db, Role.HR_MANAGER, is_active=False)
    interviewer = await make_user(db, Role.INTERVIEWER)
    await db.commit()
    iid = setup.interview.id
    cases = [
        (inactive, iid, 401),
        (inactive, 999_999, 401),
        (other.candidate_user, 999_999, 404),
        (other.candidate_user, iid, 403),
        (other.candidate_user, done.interview.id, 403),
        (done.candidate_user, done.interview.id, 409),
        (interviewer, done.interview.id, 409),
        (interviewer, iid, 200),  # for the observe socket
        (setup.candidate_user, iid, 200),
    ]
    for user, interview_id, expected in cases:
        await wire.clear()
        resp = await client.post(
            f"{API}/auth/ws-ticket", json={"interview_id": interview_id}, headers=auth(user)
        )
        assert resp.status_code == expected, (user.email, interview_id, resp.text)
        await wire.settle()
        assert len(wire.statements()) == 1 and wire.transaction_control() == [], wire.sent


async def test_an_id_beyond_any_database_id_is_a_clear_refusal_not_a_server_error(
    db, client, ws_url
):
    """Ids are INTEGER columns: asyncpg refuses a larger value outright (a DataError), so
    such an id is checked before any query: 422 for the ticket's body, 4002 at the socket."""
    user = await make_user(db, Role.HR_MANAGER)
    await db.commit()
    for interview_id in (MAX_ID + 1, 2**63):
        resp = await client.post(
            f"{API}/auth/ws-ticket", json={"interview_id": interview_id}, headers=auth(user)
        )
        assert resp.status_code == 422
        assert "interview_id" in str(resp.json()["detail"])
    ok = await client.post(
        f"{API}/auth/ws-ticket", json={"interview_id": MAX_ID}, headers=auth(user)
    )
    assert ok.status_code == 404
    for raw in (str(MAX_ID), str(MAX_ID + 1), "9" * 18, "9" * 40):
        ws = await WSClient.open(ws_url(f"/ws/interview/{raw}", token(user)))
        assert await ws.expect_close() == 4002, raw


@pytest.mark.parametrize("with_ticket", [True, False], ids=["ticket", "access-token"])
async def test_a_handshake_is_one_statement(db, client, ws_url, wire, with_ticket):
    setup = await make_interview(db)
    iid = setup.interview.id
    await db.commit()
    credential = token(setup.candidate_user)
    if with_ticket:
        resp = await client.post(
            f"{API}/auth/ws-ticket", json={"interview_id": iid}, headers=auth(setup.candidate_user)
        )
        credential = resp.json()["ticket"]
    await wire.clear()
    ws = await WSClient.open(ws_url(f"/ws/interview/{iid}", credential))
    try:
        await ws.send({"type": "ping"})
        assert (await ws.recv())["type"] == "pong"  # accepted, registered and reading
        await wire.settle()
        assert len(wire.statements()) == 1, wire.sent
        assert wire.transaction_control() == []
    finally:
        await ws.close()


async def test_starting_an_interview_is_one_statement_and_a_running_one_two(db, wire):
    setup = await make_interview(db)
    iid = setup.interview.id
    await db.commit()
    conductor = InterviewConductorService()
    await wire.clear()
    outcome = await conductor.start_interview(iid)
    assert not outcome.was_running
    await wire.settle()
    started = [s for s in wire.statements() if s.upper().startswith("UPDATE")]
    assert len(started) == 1, wire.sent
    await wire.clear()
    again = await conductor.start_interview(iid)
    assert again.was_running
    await wire.settle()
    assert [s.split(None, 1)[0].upper() for s in wire.statements()] == ["UPDATE", "SELECT"]
    if postgres():
        assert wire.transaction_control() == [], wire.sent
    await db.refresh(setup.interview)
    assert setup.interview.status == InterviewStatus.IN_PROGRESS
    assert setup.interview.started_at is not None
