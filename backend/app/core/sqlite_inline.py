"""SQLite for the embedded mode, run on the event loop's thread instead of a driver thread.

The `aiosqlite` driver hands every statement, fetch and commit to a thread of its own and waits
for the answer: under `make bench` these hand-offs (and the GIL passing between the threads)
were a quarter of the server's CPU and a loop iteration of waiting per statement, while the
statements themselves take microseconds. Here SQLAlchemy's `aiosqlite` dialect drives a
connection with the same interface whose statements run at once, in the loop's thread:

- Writers queue on one asyncio lock per process (`WriteGate`), taken at a transaction's first
  write and given back at its commit or rollback: a second writer *waits* (the loop goes on)
  instead of meeting SQLite's lock in a busy handler that would stall the whole loop. Readers
  never wait (WAL).
- Another process's write lock (a migration, a second server on the same file) is waited for
  the same way: the statement is tried again after a short sleep, up to `BUSY_TIMEOUT_SEC`,
  then "database is locked" as before.
- Durability is unchanged: a commit returns once its WAL frames are on disk, as with WAL +
  `synchronous=FULL`, but the fsync is not SQLite's, inside COMMIT on the loop's thread (0.2 ms
  to 100+ ms here, the whole loop waiting): SQLite writes the frames (`synchronous=NORMAL`),
  the gate is given back, and the committer waits while a thread of its own fsyncs the WAL
  file: one fsync for every commit made before it began (a group commit), the next one begun
  by that thread as soon as commits wait for it (`_Syncer`). Handing the whole COMMIT
  to a thread instead held the gate across a loop iteration per transaction, and under load
  writers queued for seconds (`make bench`).
- The WAL is copied back into the database file (a checkpoint, which writes and fsyncs much
  more) by a worker thread on its own connection every `CHECKPOINT_EVERY` commits, never by a
  COMMIT on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from sqlalchemy.engine import URL

from app.core.read_gate import ReadGate, read_gate

logger = logging.getLogger("app.db")

BUSY_TIMEOUT_SEC = 30.0  # as the driver's `timeout` before: how long a writer waits for a lock
_RETRY_SLEEP_SEC = 0.002
CHECKPOINT_EVERY = 200  # commits between two checkpoints (PASSIVE: writers never wait for one)
_READS = ("SELECT", "PRAGMA", "EXPLAIN")
# Each pooled connection has its own page cache (SQLite's default: up to 2 MiB). In WAL mode a
# connection's cache is reset whenever another connection has written since its last
# transaction, so under load a large cache buys little, while the memory it grew to stays with
# the process: 256 KiB (64 pages) holds what one transaction touches. `make bench`: memory per
# idle socket 48.9 -> 45.8 KiB (embedded), no change in CPU per token at K = 100 / 250.
PAGE_CACHE_KIB = 256
# A commit waits for the group commit's fsync in a worker thread, which needs the GIL to take
# the job and to hand the result back; with the loop busy it got it only when the interpreter's
# switch interval (5 ms) forced the loop's thread to let go, for each of those steps. 1 ms
# shortens that wait (`make bench`, K = 100: the answer's save before `thinking`, p50 18 ->
# 12 ms); it costs nothing while no other thread waits for the GIL.
GIL_SWITCH_SEC = 0.001
SYNCER_IDLE_SEC = 1.0


class WriteGate:
    """One writer at a time in this process, waited for asynchronously."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def enter(self) -> None:
        if not self._lock.locked():
            await self._lock.acquire()  # free: taken at once, no loop iteration
            return
        try:
            async with asyncio.timeout(BUSY_TIMEOUT_SEC):
                await self._lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None

    def leave(self) -> None:
        if self._lock.locked():
            self._lock.release()


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_READS)


def _locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "database is locked" in text or "database is busy" in text


class InlineCursor:
    """The `aiosqlite.Cursor` interface over a `sqlite3.Cursor`, nothing handed to a thread."""

    def __init__(self, conn: InlineConnection) -> None:
        self._conn = conn
        self._cursor = conn._conn.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        args = (sql,) if parameters is None else (sql, parameters)
        await self._conn._run(sql, self._cursor.execute, args)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> InlineCursor:
        await self._conn._run(sql, self._cursor.executemany, (sql, list(seq_of_parameters)))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *_: Any) -> None:
        return None

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The part of `aiosqlite.Connection` that SQLAlchemy's dialect uses."""

    def __init__(self, connection: sqlite3.Connection, shared: _Shared) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._shared = shared
        self._gate: WriteGate | None = None  # held: a write transaction is open

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("Connection closed")
        return self._connection

    @property
    def in_transaction(self) -> bool:
        return self._connection is not None and self._connection.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        self._conn  # noqa: B018 (raises on a closed connection)
        return InlineCursor(self)

    async def _run(self, sql: str, call: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        if self._gate is None and not _is_read(sql):
            gate = self._shared.gate()
            await gate.enter()
            self._gate = gate
        deadline: float | None = None
        try:
            while True:
                try:
                    return call(*args)
                except sqlite3.OperationalError as exc:
                    # another process holds the write lock: wait without stalling the loop
                    if not _locked(exc):
                        raise
                    now = time.monotonic()
                    deadline = deadline or now + BUSY_TIMEOUT_SEC
                    if now >= deadline:
                        raise
                    await asyncio.sleep(_RETRY_SLEEP_SEC)
        finally:
            if self._gate is not None and not self._conn.in_transaction:
                self._release()  # a statement outside any transaction (DDL): done already

    def _release(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.leave()

    async def commit(self, then: Callable[[], None] | None = None) -> None:
        """`then`: called once the commit is durable, before this returns, and with group
        commit in the very callback that learns it (`_Syncer`): one loop iteration sooner
        than the committer's task wakes up (an answer's `thinking`, `make bench`)."""
        committed = False
        try:
            if self._conn.in_transaction:
                self._conn.commit()
                committed = True
        finally:
            self._release()
        if committed:
            await self._shared.committed(then)

    async def rollback(self) -> None:
        try:
            if self._connection is not None:
                self._connection.rollback()
        finally:
            self._release()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate; `close` is the same, nothing to wait for)."""
        connection, self._connection = self._connection, None
        self._release()
        if connection is not None:
            connection.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


class _Syncer:
    """Group commit: a thread of its own fsyncs the WAL, one fsync for every commit made before
    it began, and starts the next one at once while commits wait (none waits for the loop to
    start it: under load each loop iteration is tens of ms, and with the rounds started from
    the loop a commit waited ~300 ms for its fsync at K = 250 in `make bench`). The thread ends
    after SYNCER_IDLE_SEC with nothing to do; the next commit starts another."""

    def __init__(self, wal_path: str, loop: asyncio.AbstractEventLoop, gate: ReadGate) -> None:
        self.wal_path = wal_path
        self.loop = weakref.ref(loop)  # the syncers are kept per loop, weakly: no cycle
        self.gate = gate
        self.requested = 0  # commits that asked to be made durable (counted under `_wake`)
        self.covered = 0  # of those, how many an fsync has covered (the thread's side)
        # the loop's side only: (commit, its future, called once it is durable)
        self.waiting: list[tuple[int, asyncio.Future[None], Callable[[], None] | None]] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    async def wait(self, then: Callable[[], None] | None = None) -> None:
        done = asyncio.get_running_loop().create_future()
        with self._wake:
            self.requested += 1  # this commit's frames are written: the next fsync covers it
            self.waiting.append((self.requested, done, then))
            if self._thread is None:
                sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_SEC))
                self._thread = threading.Thread(target=self._run, name="sqlite-sync", daemon=True)
                self._thread.start()
            self._wake.notify()
        await done

    def _run(self) -> None:
        while True:
            with self._wake:
                if self.requested <= self.covered:
                    self._wake.wait(SYNCER_IDLE_SEC)
                if self.requested <= self.covered:
                    self._thread = None  # idle: the next commit starts another thread
                    return
                covers = self.requested
            error: BaseException | None = None
            try:
                self.fsync()
            except Exception as exc:  # the commits it covers fail with it
                error = exc
            self.covered = covers
            if not self._hand_back(covers, error):  # the loop is gone: nobody waits any more
                with self._wake:
                    self._thread = None
                return

    def _hand_back(self, covers: int, error: BaseException | None) -> bool:
        """Tell the loop which commits are durable (through its read gate: on a busy loop at
        the next model stream's read, a slice sooner than its next iteration); False when it
        is gone or closed."""
        loop = self.loop()
        if loop is None:
            return False
        try:
            self.gate.hand_back(loop, partial(self._covered, covers, error))
        except RuntimeError:  # closed
            return False
        return True

    def _covered(self, covers: int, error: BaseException | None) -> None:
        """On the loop: wake the commits this fsync covered, after their `then`."""
        still = []
        for mine, done, then in self.waiting:
            if mine > covers:
                still.append((mine, done, then))
            elif not done.done():
                failure = error
                if failure is None and then is not None:
                    try:
                        then()
                    except Exception as exc:  # the committer's: it raises there
                        failure = exc
                if failure is None:
                    done.set_result(None)
                else:
                    done.set_exception(failure)
        self.waiting = still

    def fsync(self) -> None:
        try:
            fd = os.open(self.wal_path, os.O_RDONLY)
        except FileNotFoundError:
            return  # no WAL: nothing was written since the last checkpoint reset it
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _Shared:
    """What one engine's connections share: per event loop (tests and Celery tasks run
    several) a write gate and a group-commit syncer; the checkpoints."""

    def __init__(self, database: str, options: dict[str, Any]) -> None:
        self.database, self.options = database, options
        self._per_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[WriteGate, _Syncer]
        ] = weakref.WeakKeyDictionary()
        self._commits = 0
        self._checkpointing = False
        self._checkpointer: sqlite3.Connection | None = None
        self.group_commit = False  # a file database in WAL mode: synced here, not by SQLite

    def connect(self) -> InlineConnection:
        connection = sqlite3.connect(self.database, **self.options)
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        wal = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        self.group_commit = wal and os.path.isfile(self.database)
        if self.group_commit:
            connection.execute("PRAGMA synchronous=NORMAL")  # the WAL's fsync: `_Syncer`
            connection.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints: `checkpoint`
        return InlineConnection(connection, self)

    def _for_loop(self) -> tuple[WriteGate, _Syncer]:
        loop = asyncio.get_running_loop()
        state = self._per_loop.get(loop)
        if state is None:
            syncer = _Syncer(self.database + "-wal", loop, read_gate())
            state = self._per_loop[loop] = (WriteGate(), syncer)
        return state

    def gate(self) -> WriteGate:
        return self._for_loop()[0]

    async def committed(self, then: Callable[[], None] | None = None) -> None:
        """After a commit, with the gate given back: return once it is durable (`then`: as
        `InlineConnection.commit`'s)."""
        if not self.group_commit:
            if then is not None:
                then()
            return  # SQLite synced it itself (or an in-memory database)
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and not self._checkpointing:
            self._checkpointing = True
            asyncio.get_running_loop().run_in_executor(None, self.checkpoint)
        await self._for_loop()[1].wait(then)

    def checkpoint(self) -> None:
        """Copy the WAL back into the database file (in a worker thread)."""
        try:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(self.database, **self.options)
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:  # tried again after the next CHECKPOINT_EVERY commits
            logger.warning("SQLite checkpoint failed", exc_info=True)
        finally:
            self._checkpointing = False


def inline_connector(url: URL) -> Callable[[], Any]:
    """The `async_creator` for `create_async_engine`: connections to the URL's database file
    that share one write gate and the checkpoints."""
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

    args, params = SQLiteDialect_pysqlite().create_connect_args(url)
    shared = _Shared(str(args[0]), {**params, "check_same_thread": False, "timeout": 0})

    async def connect() -> InlineConnection:
        return shared.connect()

    return connect
