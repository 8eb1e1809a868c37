"""One async engine and one session factory (asyncpg for PostgreSQL; SQLite embedded, through
SQLAlchemy's aiosqlite dialect over connections that run on the loop's thread:
`app/core/sqlite_inline.py`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession as SQLModelAsyncSession

from app.core.aio import finish
from app.core.config import Settings
from app.core.sqlite_inline import inline_connector

# PostgreSQL connections per process: at most POOL_MAX, of which POOL_SIZE stay open between
# busy moments. Connections past the kept ones are closed when returned, so a pool that keeps
# fewer than a busy moment needs opens and closes connections all the time (with 10 kept:
# ~2 % of the CPU at K = 100 in `make bench`, and a connect in the answer's path).
POOL_SIZE = 20
POOL_MAX = 30
# SQLite (embedded): connections are cheap (no server; ~0.1 ms to open), but a session holds
# its connection while its commit waits for the group commit's fsync (a loop iteration or two:
# tens of ms under load), so a busy moment needs many. With SQLAlchemy's default 15 at most,
# turns queued for the pool for seconds at K = 250 (`make bench`: `thinking` p99 4.1 s ->
# 0.6 s). As many are kept between busy moments as PostgreSQL's: each keeps a page cache
# (`PAGE_CACHE_KIB`), but with 5 kept a moment of ten turns opened and closed connections all the
# time (bench/instructions.py: an answer 5.9-6.3M instructions with 5 kept, 5.2M with 10 or 20;
# memory per idle socket at K = 1000 39.4 -> 41.3 KiB, bare 39.8 / 40.4 in the same runs).
SQLITE_POOL_SIZE = 20
SQLITE_POOL_MAX = 50

# SQLAlchemy's `async with` on a session or a connection closes it in a task of its own, so
# that a cancellation cannot cut the close short (a task, a shield, and the waiting task woken
# by a callback): three loop iterations per close even when the close has nothing to wait for,
# which is nearly always (an SQLite close here runs at once; a PostgreSQL connection after a
# commit goes back to the pool without a round trip). Under load an iteration is tens of ms,
# and the answer's save waited three of them before its `thinking` (`make bench`, K = 250).
# These close through `finish` (app/core/aio.py): the same guarantee, no extra iteration.


class AsyncSession(SQLModelAsyncSession):
    """SQLModel's session, closed at `async with`'s end without a task of its own."""

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        await finish(self.close())


@asynccontextmanager
async def connection() -> AsyncIterator[AsyncConnection]:
    """`async with get_engine().connect()`, closed without a task of its own."""
    conn = get_engine().connect()
    await conn.start()
    try:
        yield conn
    finally:
        await finish(conn.close())


@asynccontextmanager
async def driver_connection() -> AsyncIterator[Any]:
    """A pooled connection's own driver connection (asyncpg's; on SQLite the inline one of
    `app/core/sqlite_inline.py`), out of the engine's pool and back (its checks and resets
    as for any checkout) without SQLAlchemy's `Connection` around it: for statements the
    caller runs on the driver itself (a turn's saves, `app/services/turn_saves.py`). Taking a
    `Connection`, its raw connection, and closing it again cost five greenlet hand-offs and the
    objects they build; this costs two.

    On PostgreSQL each statement commits on its own (asyncpg outside a transaction); on
    SQLite a write opens a transaction that the caller commits (`await driver.commit()`),
    and one left open is rolled back when the connection goes back to the pool."""
    pooled = await greenlet_spawn(get_engine().sync_engine.raw_connection)
    try:
        yield pooled.driver_connection
    finally:
        await finish(greenlet_spawn(pooled.close))


@asynccontextmanager
async def autocommit() -> AsyncIterator[AsyncConnection]:
    """A connection whose every statement commits on its own on PostgreSQL (no BEGIN, no
    ROLLBACK or COMMIT: one round trip a statement); on SQLite a plain `connection()`."""
    async with connection() as conn:
        if conn.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@asynccontextmanager
async def autocommit_session() -> AsyncIterator[AsyncSession]:
    """A session for reads and single-statement writes: on PostgreSQL in autocommit (each
    statement its own transaction, as each already has its own snapshot at READ COMMITTED),
    so that it costs one round trip a statement, not BEGIN and ROLLBACK around them. A
    `commit()` is still needed after a write (SQLite), and costs nothing on PostgreSQL.

    Not for work that must be all or nothing across statements: that takes `session_factory`
    or `transaction()`."""
    async with autocommit() as conn, AsyncSession(bind=conn, expire_on_commit=False) as session:
        yield session


@asynccontextmanager
async def transaction() -> AsyncIterator[AsyncConnection]:
    """`async with get_engine().begin()`: committed at the end (rolled back on an error),
    closed without a task of its own."""
    async with connection() as conn, conn.begin():
        yield conn


_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def _sqlite_reset(dbapi_conn: Any, _record: Any, _state: Any) -> None:
    """The pool's reset on return, without the no-op ROLLBACK outside any transaction; a
    connection still in a transaction is rolled back as usual."""
    if dbapi_conn.driver_connection.in_transaction:
        dbapi_conn.rollback()


# The pool checks a connection before handing it out, against one that died while it sat idle
# (a PostgreSQL restart, a firewall's idle cut). A connection back from work less than
# POOL_PING_IDLE_SEC ago, whose socket has not closed, is handed out unchecked: under load that
# is nearly every checkout, and each check is a round trip (a loop iteration) in front of the
# statement. One that died within that second fails its statement as one in use at that
# moment would have, and the pool then replaces every connection older than the failure.
POOL_PING_IDLE_SEC = 1.0
_returned_at: WeakKeyDictionary[Any, float] = WeakKeyDictionary()


def _note_return(dbapi_conn: Any, _record: Any) -> None:
    if dbapi_conn is not None:  # keyed by asyncpg's connection (the adapter has no weakref)
        _returned_at[dbapi_conn.driver_connection] = time.monotonic()


def _ping(dbapi_conn: Any) -> bool:
    """The pool's check of a connection it hands out: none for one back from work within
    POOL_PING_IDLE_SEC whose socket is still open, else one round trip (`;`). SQLAlchemy's
    asyncpg dialect wraps the `;` in BEGIN and ROLLBACK (for pgbouncer's transaction mode,
    which HireEz does not run behind): three round trips on every checkout. A failed ping
    raises as before: the pool replaces the connection."""
    driver = dbapi_conn.driver_connection
    returned = _returned_at.get(driver)
    if (
        returned is not None
        and time.monotonic() - returned < POOL_PING_IDLE_SEC
        and not driver.is_closed()
    ):
        return True
    saved = dbapi_conn.autocommit
    dbapi_conn.autocommit = True  # the adapter then sends the `;` alone
    try:
        dbapi_conn.ping()
    finally:
        dbapi_conn.autocommit = saved
    return True


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        url = make_url(settings.DATABASE_URL)
        engine = create_async_engine(
            url,
            async_creator=inline_connector(url),
            pool_reset_on_return=None,
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_MAX - SQLITE_POOL_SIZE,
        )
        event.listen(engine.sync_engine, "reset", _sqlite_reset)
        return engine
    engine = create_async_engine(
        settings.DATABASE_URL,
        pool_size=POOL_SIZE,
        max_overflow=POOL_MAX - POOL_SIZE,
        pool_pre_ping=True,
    )
    engine.dialect.do_ping = _ping  # type: ignore[method-assign,assignment]  # this engine's only
    event.listen(engine.sync_engine.pool, "checkin", _note_return)
    return engine


def init_database(settings: Settings) -> AsyncEngine:
    """Create (or replace) the process-wide engine and session factory."""
    global _engine, _sessionmaker
    _engine = create_engine(settings)
    _sessionmaker = async_sessionmaker(_engine, class_=AsyncSession, expire_on_commit=False)
    return _engine


async def dispose_database() -> None:
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None


def get_engine() -> AsyncEngine:
    if _engine is None:
        raise RuntimeError("database not initialised: call init_database() first")
    return _engine


def session_factory() -> async_sessionmaker[AsyncSession]:
    if _sessionmaker is None:
        raise RuntimeError("database not initialised: call init_database() first")
    return _sessionmaker


async def get_session() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request, committed by the route itself."""
    async with session_factory()() as session:
        yield session
