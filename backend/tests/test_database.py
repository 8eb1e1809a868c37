"""The connection pool hands back clean connections: a transaction left open on a connection
is rolled back when it returns (SQLite: by our reset hook, which skips the no-op ROLLBACK of
a connection with no transaction; PostgreSQL: by the pool's default reset)."""

from __future__ import annotations

from sqlalchemy import text

from app.core.config import get_settings
from app.core.database import create_engine
from tests.support.factories import make_interview


def _in_transaction(sync_conn) -> bool:
    driver = sync_conn.connection.driver_connection
    flag = getattr(driver, "in_transaction", None)  # aiosqlite
    return bool(driver.is_in_transaction() if flag is None else flag)  # asyncpg


async def test_a_connection_returned_mid_transaction_comes_back_clean(db):
    setup = await make_interview(db, duration_min=30)
    iid = setup.interview.id
    engine = create_engine(get_settings())  # a pool of its own: one connection, reused
    try:

        def dirty(sync_conn) -> bool:  # straight through the driver: SQLAlchemy knows of
            cursor = sync_conn.connection.cursor()  # no transaction to end on it
            # an int id inlined: the two drivers take different placeholder styles
            cursor.execute(f"UPDATE interviews SET duration_min = 77 WHERE id = {int(iid)}")  # noqa: S608
            cursor.close()
            return _in_transaction(sync_conn)

        async with engine.connect() as conn:
            assert await conn.run_sync(dirty)
        async with engine.connect() as conn:  # the same connection, back from the pool
            assert engine.sync_engine.pool.checkedout() == 1
            assert not await conn.run_sync(_in_transaction)
            value = (
                await conn.execute(
                    text("SELECT duration_min FROM interviews WHERE id = :id"), {"id": iid}
                )
            ).scalar_one()
        assert value == 30  # the change was rolled back, not left pending
    finally:
        await engine.dispose()


async def test_connections_with_no_transaction_go_back_to_the_pool_and_work(db):
    engine = create_engine(get_settings())
    try:
        for _ in range(3):  # read-only use, returned, reused
            async with engine.connect() as conn:
                assert not await conn.run_sync(_in_transaction)  # none left from before
                assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        assert engine.sync_engine.pool.checkedin() == 1
    finally:
        await engine.dispose()
