"""PostgreSQL's connection pool (real-services run only): the connections a busy moment
opened stay open for the next one, instead of being closed on return and opened again (a
TCP connect, TLS negotiation and authentication each: ~2 % of the server's CPU at K = 100 in
`make bench` with the old pool of 10 kept)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import event, text

from app.core import database
from app.core.config import get_settings
from app.core.database import POOL_MAX, POOL_SIZE, create_engine
from tests.support.db_trace import QueryLog

BURST = 15  # more than the old pool kept (10), fewer than it keeps now


async def test_a_burst_of_sessions_reuses_the_connections_the_last_burst_opened(db):
    assert BURST <= POOL_SIZE <= POOL_MAX
    engine = create_engine(get_settings())
    opened = 0

    def on_connect(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(engine.sync_engine, "connect", on_connect)
    pool = engine.sync_engine.pool
    try:
        for burst in range(2):
            gate = asyncio.Event()

            async def hold(gate: asyncio.Event = gate) -> None:
                async with engine.connect() as conn:
                    assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
                    await gate.wait()

            tasks = [asyncio.create_task(hold()) for _ in range(BURST)]
            while pool.checkedout() < BURST:  # all of them at once
                await asyncio.sleep(0.01)
            gate.set()
            await asyncio.gather(*tasks)
            assert pool.checkedin() == BURST, burst  # none closed on return
            assert opened == BURST, burst  # the second burst opened none
    finally:
        await engine.dispose()


@asynccontextmanager
async def checked_out(engine: Any, sent: list[str]) -> AsyncIterator[tuple[Any, list[str]]]:
    """A connection from `engine`'s pool, and what its checkout sent (the ping, if any)."""
    await asyncio.sleep(0)  # the loggers of what came before
    sent.clear()
    async with engine.connect() as conn:
        await asyncio.sleep(0)
        yield conn, list(sent)


async def test_a_connection_idle_past_the_limit_is_checked_in_one_round_trip(db, monkeypatch):
    """SQLAlchemy's asyncpg dialect pings inside BEGIN / ROLLBACK (three round trips on every
    checkout); ours sends the `;` alone, and leaves the connection as it found it."""
    monkeypatch.setattr(database, "POOL_PING_IDLE_SEC", 0.0)  # every checkout is "idle"
    engine = create_engine(get_settings())
    sent = QueryLog(engine)
    try:
        async with engine.connect() as conn:  # a fresh connection: not pinged
            await conn.execute(text("SELECT 1"))
        async with checked_out(engine, sent) as (conn, pinged):
            assert (await conn.execute(text("SELECT 2"))).scalar_one() == 2
        await asyncio.sleep(0)
        assert pinged == [";"]
        assert sent[:3] == [";", "BEGIN;", "ROLLBACK;"]  # the statement's own transaction
        async with engine.connect() as conn:  # still one, and after an autocommit use too
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("SELECT 3"))
        async with checked_out(engine, sent) as (conn, pinged):
            assert pinged == [";"]
            assert (await conn.get_isolation_level()).upper() == "READ COMMITTED"
    finally:
        await engine.dispose()


async def test_a_connection_back_from_work_moments_ago_is_handed_out_unchecked(db, monkeypatch):
    """Under load nearly every checkout takes a connection returned milliseconds before: no
    round trip for those; one that sat idle past POOL_PING_IDLE_SEC is checked."""
    monkeypatch.setattr(database, "POOL_PING_IDLE_SEC", 0.3)
    engine = create_engine(get_settings())
    sent = QueryLog(engine)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        for _ in range(3):
            async with checked_out(engine, sent) as (conn, pinged):
                assert pinged == []  # no ping
                await conn.execute(text("SELECT 2"))
        await asyncio.sleep(0.4)
        async with checked_out(engine, sent) as (conn, pinged):
            assert pinged == [";"]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("idle_limit", [0.0, database.POOL_PING_IDLE_SEC], ids=["idle", "recent"])
async def test_a_connection_whose_server_process_died_is_replaced_when_checked_out(
    db, monkeypatch, idle_limit
):
    """A dead connection is found at checkout, by the ping (idle) or, for one returned moments
    ago, by its closed socket: the pool opens a new one, and the caller never sees the error."""
    monkeypatch.setattr(database, "POOL_PING_IDLE_SEC", idle_limit)
    engine = create_engine(get_settings())
    try:
        async with engine.connect() as killer, engine.connect() as conn:
            victim = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await conn.commit()  # idle, as a connection in the pool is
            killed = await killer.execute(text(f"SELECT pg_terminate_backend({int(victim)})"))
            assert killed.scalar_one() is True
        await asyncio.sleep(0.1)  # the server's goodbye reaches the victim's socket
        # both back in the pool, the victim's server process gone: take both out again
        async with engine.connect() as first, engine.connect() as second:
            pids = {
                (await first.execute(text("SELECT pg_backend_pid()"))).scalar_one(),
                (await second.execute(text("SELECT pg_backend_pid()"))).scalar_one(),
            }
        assert victim not in pids and len(pids) == 2
    finally:
        await engine.dispose()
