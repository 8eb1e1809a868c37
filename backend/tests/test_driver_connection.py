"""`database.driver_connection`: a pooled connection's driver connection, out of the engine's
pool and back without SQLAlchemy's `Connection` (a turn's saves run on it). Both runs: the
embedded one checks SQLite's inline connection, the real one asyncpg's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from app.core.database import driver_connection, get_engine


@pytest.fixture
async def probe_table() -> Any:
    engine = get_engine()
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS driver_connection_probe"))
        await conn.execute(text("CREATE TABLE driver_connection_probe (n INTEGER NOT NULL)"))
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE driver_connection_probe"))


@pytest.fixture(autouse=True)
def returned_explicitly(recwarn: pytest.WarningsRecorder) -> Any:
    """A pooled connection dropped without its close is still returned, by the garbage
    collector, with a warning: that counts as not returned."""
    yield
    left = [w for w in recwarn if "non-checked-in connection" in str(w.message)]
    assert not left, left[0].message


def postgres() -> bool:
    return get_engine().dialect.name == "postgresql"


async def insert(driver: Any, n: int) -> None:
    if postgres():
        await driver.execute("INSERT INTO driver_connection_probe (n) VALUES ($1)", n)
        return
    cursor = driver.cursor()
    await cursor.execute("INSERT INTO driver_connection_probe (n) VALUES (?)", (n,))
    await cursor.close()


async def saved() -> list[int]:
    async with get_engine().connect() as conn:
        rows = await conn.execute(text("SELECT n FROM driver_connection_probe ORDER BY n"))
        return [row[0] for row in rows]


async def commit(driver: Any) -> None:
    if not postgres():  # asyncpg outside a transaction: each statement committed already
        await driver.commit()


async def test_the_connection_goes_back_to_the_pool_also_after_an_error(probe_table):
    pool = get_engine().sync_engine.pool
    before = pool.checkedout()
    async with driver_connection() as driver:
        assert pool.checkedout() == before + 1
        await insert(driver, 1)
        await commit(driver)
    assert pool.checkedout() == before
    with pytest.raises(RuntimeError):
        async with driver_connection() as driver:
            await insert(driver, 2)
            raise RuntimeError("the caller's own failure")
    assert pool.checkedout() == before
    assert await saved() == ([1, 2] if postgres() else [1])  # SQLite: never committed


async def test_an_uncommitted_write_is_rolled_back_and_the_next_writer_goes_on(probe_table):
    """SQLite: a write transaction left open goes back rolled back, and the process's write
    gate with it (the next writer would otherwise wait for ever). PostgreSQL: each statement
    committed on its own, visible to others at once."""
    async with driver_connection() as driver:
        await insert(driver, 1)
        if postgres():
            assert await saved() == [1]
    async with asyncio.timeout(5):
        async with driver_connection() as driver:
            await insert(driver, 2)
            await commit(driver)
    assert await saved() == ([1, 2] if postgres() else [2])


async def test_a_cancelled_caller_still_gives_its_connection_back(probe_table):
    pool = get_engine().sync_engine.pool
    before = pool.checkedout()
    inside = asyncio.Event()

    async def hold() -> None:
        async with driver_connection() as driver:
            await insert(driver, 1)
            inside.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(hold())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.checkedout() == before
    async with asyncio.timeout(5), driver_connection() as driver:
        await insert(driver, 2)
        await commit(driver)
    assert await saved() == ([1, 2] if postgres() else [2])
