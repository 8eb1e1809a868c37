"""The embedded database's driver (app/core/sqlite_inline.py): SQLite on the loop's thread.

Writers queue on an asyncio gate instead of stalling the loop in SQLite's busy handler; a lock
held by another process is waited for without stalling the loop; a commit returns only once
its WAL frames are fsynced (one fsync for a group of commits); checkpoints run off the loop.
Each test uses a database file of its own (the same in both test runs)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError

from app.core import database, sqlite_inline
from app.core.config import get_settings
from app.core.database import create_engine
from app.core.read_gate import read_gate
from tests.support.aio import EveryIteration


@pytest.fixture
async def engine(tmp_path: Path):
    settings = get_settings().model_copy(
        update={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/inline.db"}
    )
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


def db_path(engine) -> str:
    return str(engine.url.database)


async def count(engine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())


async def test_writers_holding_a_transaction_across_awaits_queue_instead_of_failing(engine):
    async def writer(i: int) -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"a{i}"})
            await asyncio.sleep(0.005)  # another writer runs meanwhile and must wait its turn
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"b{i}"})

    await asyncio.gather(*(writer(i) for i in range(12)))
    assert await count(engine) == 24


async def test_waiting_writers_go_in_the_order_they_came(engine):
    async with engine.connect() as holder:
        await holder.execute(text("INSERT INTO t (v) VALUES ('first')"))
        waiting = []
        for i in range(8):  # each queues behind the holder (no polling, no barging)
            waiting.append(asyncio.create_task(_insert(engine, f"w{i}")))
            await asyncio.sleep(0.01)
        await holder.commit()
    await asyncio.gather(*waiting)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
    assert rows == ["first", *(f"w{i}" for i in range(8))]


async def test_readers_never_wait_for_a_writer(engine):
    async with engine.connect() as writer:
        await writer.execute(text("INSERT INTO t (v) VALUES ('pending')"))  # holds the gate
        reading = asyncio.create_task(count(engine))
        assert await asyncio.wait_for(reading, 2) == 0  # WAL: the committed state, at once
        await writer.commit()
    assert await count(engine) == 1


async def test_another_process_lock_is_waited_for_while_the_loop_goes_on(engine):
    held, release = threading.Event(), threading.Event()

    def other_process() -> None:  # a second writer on the same file, outside this engine
        conn = sqlite3.connect(db_path(engine), timeout=0)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES ('other')")
        held.set()
        release.wait(5)
        conn.commit()
        conn.close()

    thread = threading.Thread(target=other_process)
    thread.start()
    await asyncio.to_thread(held.wait, 5)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    writing = asyncio.create_task(_insert(engine, "ours"))
    await asyncio.sleep(0.3)
    assert not writing.done()  # waiting for the other writer's lock...
    assert ticks >= 10  # ...without stalling the loop
    release.set()
    await asyncio.wait_for(writing, 5)
    ticking.cancel()
    await asyncio.to_thread(thread.join)
    assert await count(engine) == 2


async def test_a_lock_held_past_the_timeout_fails_as_database_is_locked(engine, monkeypatch):
    monkeypatch.setattr(sqlite_inline, "BUSY_TIMEOUT_SEC", 0.2)
    other = sqlite3.connect(db_path(engine), timeout=0, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            await _insert(engine, "late")
    finally:
        other.rollback()
        other.close()
    await _insert(engine, "after")  # nothing was left held
    assert await count(engine) == 1


async def test_a_failed_transaction_gives_the_gate_back(engine):
    await _insert(engine, "x")
    with pytest.raises(IntegrityError):
        await _insert(engine, "x")  # unique: fails inside its transaction, rolled back
    await asyncio.wait_for(_insert(engine, "y"), 2)
    assert await count(engine) == 2


async def test_a_writer_cancelled_while_waiting_leaves_the_gate_usable(engine):
    async with engine.connect() as holder:
        await holder.execute(text("INSERT INTO t (v) VALUES ('held')"))
        waiting = asyncio.create_task(_insert(engine, "cancelled"))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await holder.commit()
    await asyncio.wait_for(_insert(engine, "next"), 2)
    assert await count(engine) == 2


async def test_a_commit_returns_once_an_fsync_of_the_wal_covers_it(engine, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    await _insert(engine, "one")
    assert synced and all(p.endswith("inline.db-wal") for p in synced)
    before = len(synced)
    await asyncio.gather(*(_insert(engine, f"g{i}") for i in range(20)))
    # every commit waited for an fsync begun after it, never more than one each (commits made
    # while one runs share the next: fewer where the disk is slow)
    assert 1 <= len(synced) - before <= 20
    other = sqlite3.connect(db_path(engine))  # and the rows are there for anyone
    assert other.execute("SELECT count(*) FROM t").fetchone()[0] == 21
    other.close()


async def test_the_next_fsync_starts_without_waiting_for_the_loop(engine, monkeypatch):
    """A commit made while an fsync runs needs the next one: the sync thread starts it as soon
    as the first ends, also while the loop is busy (under load, every loop iteration that the
    next round waited for was tens of ms of every commit's wait)."""
    starts: list[float] = []
    first_running = threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        starts.append(time.monotonic())
        first_running.set()
        time.sleep(0.05)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    first = asyncio.create_task(_insert(engine, "first"))
    while not first_running.is_set():
        await asyncio.sleep(0.001)
    second = asyncio.create_task(_insert(engine, "second"))
    await asyncio.sleep(0.01)  # the second commit is made and waits; the first fsync runs on
    busy_from = time.monotonic()
    time.sleep(0.3)  # the loop's thread is busy: nothing on the loop can start an fsync
    busy_until = time.monotonic()
    await asyncio.gather(first, second)
    assert len(starts) >= 2
    assert any(busy_from < t < busy_until for t in starts[1:]), (starts, busy_from)
    assert await count(engine) == 2


async def test_an_idle_sync_thread_ends_and_the_next_commit_starts_another(engine, monkeypatch):
    monkeypatch.setattr(sqlite_inline, "SYNCER_IDLE_SEC", 0.2)
    others = set(threading.enumerate())  # other tests' sync threads end in their own time
    await _insert(engine, "a")
    mine = [t for t in threading.enumerate() if t.name == "sqlite-sync" and t not in others]
    assert mine  # the commit started one
    await asyncio.sleep(1.0)
    assert not any(t.is_alive() for t in mine)
    await _insert(engine, "b")  # would wait forever without a thread to fsync it
    assert await count(engine) == 2


async def test_a_busy_moment_gets_a_connection_for_every_session(engine):
    """A session keeps its connection while its commit waits for the fsync: SQLAlchemy's
    default pool (15 at most) made turns queue for seconds under load. 40 sessions holding a
    connection at once all get one; then a busy moment of 20 (ten turns' saves) takes kept
    connections, and opens none."""

    async def busy_moment(sessions: int) -> None:
        """`sessions` sessions holding a connection at once, all of them, then none."""
        holding = asyncio.Event()
        got = 0

        async def hold() -> None:
            nonlocal got
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                got += 1
                await holding.wait()

        tasks = [asyncio.create_task(hold()) for _ in range(sessions)]
        for _ in range(200):
            if got == sessions:
                break
            await asyncio.sleep(0.01)
        assert got == sessions
        holding.set()
        await asyncio.gather(*tasks)

    await busy_moment(40)
    assert engine.pool.size() == database.SQLITE_POOL_SIZE
    assert engine.pool.checkedin() == database.SQLITE_POOL_SIZE  # the rest closed
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda *args: opened.append(args))
    await busy_moment(20)
    assert opened == [] and engine.pool.checkedin() == database.SQLITE_POOL_SIZE


async def test_sqlite_itself_never_syncs_or_checkpoints_on_the_loop(engine):
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: ours
        assert raw._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0


async def test_a_group_commit_gets_the_gil_back_quickly(engine):
    """The fsync thread needs the GIL twice per group commit: with the group commit on, the
    interpreter lets a waiting thread in after 1 ms at most (its default: 5 ms)."""
    async with engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
        await conn.commit()
    assert sys.getswitchinterval() <= sqlite_inline.GIL_SWITCH_SEC == 0.001


async def test_each_connection_keeps_a_small_page_cache(engine):
    """Every pooled connection has its own cache, which WAL mode resets whenever another one
    wrote: SQLite's 2 MiB default per connection was memory held for little (`make bench`)."""
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw._conn.execute("PRAGMA cache_size").fetchone()[0] == -256


async def test_the_wal_is_checkpointed_into_the_database_file_off_the_loop(engine, monkeypatch):
    monkeypatch.setattr(sqlite_inline, "CHECKPOINT_EVERY", 5)
    for i in range(5):
        await _insert(engine, f"c{i}")
    # immutable: reads the database file alone, ignoring the WAL (what a checkpoint copied)
    uri = f"file:{db_path(engine)}?immutable=1"
    rows = 0
    for _ in range(100):
        conn = sqlite3.connect(uri, uri=True)
        try:
            rows = conn.execute("SELECT count(*) FROM t").fetchone()[0]
        except sqlite3.DatabaseError:  # no table yet, or the copy is being written: not yet
            rows = 0
        finally:
            conn.close()
        if rows == 5:
            break
        await asyncio.sleep(0.02)
    assert rows == 5


async def _insert(engine, value: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": value})


async def test_a_commits_then_runs_as_the_fsync_is_handed_back_before_its_committer_wakes(engine):
    """`commit(then)`: `then` runs once the commit is durable, in the callback that learns it
    (the sync thread's hand-back), a loop iteration before the committer's task wakes up (an
    answer's `thinking` is sent from there, `make bench`). A `then` that fails fails the
    commit's wait; the rows stay committed."""
    iterations = EveryIteration()
    ran: list[tuple[asyncio.Task[object] | None, int]] = []
    try:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            await driver.cursor().execute("INSERT INTO t (v) VALUES ('then')")
            await driver.commit(lambda: ran.append((asyncio.current_task(), iterations.count)))
            woke = iterations.count
    finally:
        iterations.stop()
    assert len(ran) == 1
    task, at = ran[0]
    assert task is None  # not the committer's task: a callback of the loop's
    assert at < woke  # the committer woke in a later iteration

    def broken() -> None:
        raise RuntimeError("then failed")

    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.cursor().execute("INSERT INTO t (v) VALUES ('after')")
        with pytest.raises(RuntimeError, match="then failed"):
            await driver.commit(broken)
    assert await count(engine) == 2


async def test_on_a_busy_loop_a_commits_then_runs_at_the_next_model_read_not_a_slice_later(engine):
    """With the loop busy in one long step whose model stream reads ask the read gate (a slice
    of reads, `make bench`), the fsync's hand-back runs at the next read that asks, in that
    step: it does not wait for the loop's next iteration, behind the slice queued before it."""
    gate = read_gate()
    ran: list[asyncio.Task[object] | None] = []
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.cursor().execute("INSERT INTO t (v) VALUES ('busy')")
        commit = asyncio.create_task(driver.commit(lambda: ran.append(asyncio.current_task())))
        await asyncio.sleep(0)  # its step: the frames written, the fsync asked for
        me = asyncio.current_task()
        deadline = time.monotonic() + 5
        while not ran and time.monotonic() < deadline:  # one step of reads, never yielding
            if (turn := gate.ask()) is not None:
                turn.cancel()  # a stream that would wait in line: none here
            time.sleep(0.0002)  # the read (lets the sync thread have the GIL)
        assert ran == [me]  # run by a read's ask, inside this step
        await commit
    assert await count(engine) == 1
