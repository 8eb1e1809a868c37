"""PostgreSQL's connection pool (real-services run only): the connections a busy moment
opened stay open for the next one, instead of being closed on return and opened again (a
TCP connect, TLS negotiation and authentication each: ~2 % of the server's CPU at K = 100 in
`make bench` with the old pool of 10 kept)."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, text

from app.core.config import get_settings
from app.core.database import POOL_MAX, POOL_SIZE, create_engine

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
