"""A turn's saves: the candidate's answer (its transcript row and its answer row) and the AI's
turn (its transcript row, only while the interview is in progress).

They are on every answer's path, so Core statements, not the ORM's unit of work
(docs/benchmarks.md). On PostgreSQL each save is **one statement in autocommit**: one round
trip where BEGIN, the statements and COMMIT were four or five, and under load each round trip
is a loop iteration that the answer's `thinking` or the turn's `stream_end` waits for; one
statement is atomic on its own. SQLite runs on the loop's thread (`app/core/sqlite_inline.py`:
a statement costs no round trip) and has no INSERT inside a WITH: there the statements share
one transaction. Either way a repeated `client_msg_id`, or a turn that another process saved
first, meets a unique index: IntegrityError, and nothing is saved.

Each statement is compiled once per dialect and run on the driver's own connection (asyncpg's,
or the inline SQLite one), its values bound by each column type's own processor as SQLAlchemy
would: SQLAlchemy's execution path (the compiled cache's lookup, an execution context, a result
object, the greenlet bridge) cost more CPU than asyncpg's whole statement (~250 vs ~110 µs,
docs/benchmarks.md). The connection still comes from, and goes back to, the engine's pool,
without SQLAlchemy's `Connection` around it (`database.driver_connection`).

The rows a turn saves are `TurnRow`s, not `InterviewTranscript` instances: SQLModel builds a
table model's instance one field at a time through pydantic's and SQLAlchemy's attribute
machinery (and an `inspect.signature` per default factory), ~90-180 µs an instance here, and a
turn made three (its answer, the answer's filing and the reply).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

import asyncpg
from sqlalchemy import bindparam, exists, insert
from sqlalchemy import select as core_select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select

from app.core.database import driver_connection, get_engine
from app.models import (
    Interview,
    InterviewAnswer,
    InterviewStatus,
    InterviewTranscript,
    TranscriptRole,
    utcnow,
)

INTERVIEW_STATUS = select(Interview.status).where(col(Interview.id) == bindparam("id"))
_TRANSCRIPTS: Any = InterviewTranscript.__table__  # type: ignore[attr-defined]
_ANSWERS: Any = InterviewAnswer.__table__  # type: ignore[attr-defined]


@dataclass(slots=True)
class TurnRow:
    """A transcript row as a turn makes it: `InterviewTranscript`'s columns (the same names and
    defaults; a test keeps them equal), as a plain object. `id` is set once it is saved."""

    interview_id: int
    seq: int
    role: TranscriptRole
    content: str
    client_msg_id: str | None = None
    stream_id: str | None = None
    kind: str | None = None
    reply_to_id: int | None = None
    question_index: int | None = None
    is_follow_up: bool = False
    answer_mode: str = "text"
    created_at: datetime = field(default_factory=utcnow)
    id: int | None = None


# a saved turn: one this process made, or one read back from the database
Transcript = TurnRow | InterviewTranscript


async def save_answer(
    row: TurnRow, question_id: int | None, on_durable: Callable[[], None] | None = None
) -> None:
    """Save a candidate's turn `row` and its answer row (filed under `question_id`, made at
    the same moment); sets `row.id`. `on_durable`: called once both are durable, before this
    returns (embedded, in the callback that learns it: `InlineConnection.commit`)."""
    answer = {  # InterviewAnswer's columns but id; transcript_id: the id the row gets
        "interview_id": row.interview_id,
        "question_id": question_id,
        "content": row.content,
        "created_at": row.created_at,
    }
    if _postgres():
        values = _values(row, "t_")
        values.update({"a_" + name: value for name, value in answer.items()})
        async with driver_connection() as driver:
            row.id = int(await _fetch_value(driver, _answer_statement(), values))
        if on_durable is not None:
            on_durable()
        return
    async with driver_connection() as driver:
        row.id = await _insert(driver, _TRANSCRIPTS, _values(row))
        await _insert(driver, _ANSWERS, {**answer, "transcript_id": row.id})
        await driver.commit(on_durable)


async def save_ai_turn(row: TurnRow) -> bool:
    """Save an AI turn `row` (sets `row.id`) if its interview is still in progress; False
    (nothing saved) when it is not."""
    if _postgres():
        values = {"interview": row.interview_id, **_values(row, "t_")}
        async with driver_connection() as driver:
            new_id = await _fetch_value(driver, _ai_turn_statement(), values)
        if new_id is None:
            return False
        row.id = int(new_id)
        return True
    async with driver_connection() as driver:
        status = await _fetch_value(driver, INTERVIEW_STATUS, {"id": row.interview_id})
        if status != InterviewStatus.IN_PROGRESS.value:
            return False
        row.id = await _insert(driver, _TRANSCRIPTS, _values(row))
        await driver.commit()
    return True


_SAVED_TURNS = (
    core_select(_TRANSCRIPTS)
    .where(_TRANSCRIPTS.c.interview_id == bindparam("id"))
    .order_by(_TRANSCRIPTS.c.seq)
)


async def saved_turns(conn: AsyncConnection, interview_id: int) -> list[TurnRow]:
    """The interview's transcript in seq order, as plain rows (no ORM objects)."""
    result = await conn.execute(_SAVED_TURNS, {"id": interview_id})
    return [TurnRow(**row._mapping) for row in result]


def _postgres() -> bool:
    return get_engine().dialect.name == "postgresql"


@cache
def _columns(table: Any, skip: str = "") -> tuple[str, ...]:
    """The table's column names but id and `skip` (once per table: saves are a hot path)."""
    return tuple(c.name for c in table.columns if c.name not in ("id", skip))


def _values(row: TurnRow, prefix: str = "") -> dict[str, Any]:
    """The row's transcript columns (all but id), named as `_params` names them."""
    return {prefix + name: getattr(row, name) for name in _columns(_TRANSCRIPTS)}


def _params(table: Any, prefix: str, skip: str = "") -> dict[str, Any]:
    return {
        name: bindparam(prefix + name, type_=table.c[name].type) for name in _columns(table, skip)
    }


@cache
def _insert_statement(table: Any) -> Any:
    return insert(table).returning(table.c.id)


async def _insert(driver: Any, table: Any, values: dict[str, Any]) -> int:
    """INSERT a row of `table` (every column but id) and return its new id."""
    return int(await _fetch_value(driver, _insert_statement(table), values, tuple(values)))


@dataclass(frozen=True)
class _DriverStatement:
    """A statement as its dialect's driver takes it: the SQL, its parameters' names in the
    order it takes them, and each one's bind processor (None: the value as it is)."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    fixed: dict[str, Any]  # the values the statement carries itself (a literal compared to)

    def args(self, values: dict[str, Any]) -> list[Any]:
        args = []
        for name, process in zip(self.names, self.processors, strict=True):
            value = values[name] if name in values else self.fixed[name]
            args.append(value if process is None else process(value))
        return args


@lru_cache(maxsize=64)  # a few statements per engine's dialect (tests make several engines)
def _for_driver(
    statement: Any, dialect: Dialect, column_keys: tuple[str, ...] | None
) -> _DriverStatement:
    """`statement` compiled for `dialect` (an INSERT without values: for `column_keys`)."""
    keys = list(column_keys) if column_keys is not None else None
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    names = tuple(compiled.positiontup or ())  # asyncpg's $n and SQLite's ? are positional
    binds = [compiled.binds[name] for name in names]
    processors = tuple(b.type.dialect_impl(dialect).bind_processor(dialect) for b in binds)
    fixed = {
        name: b.effective_value
        for name, b in zip(names, binds, strict=True)
        if b.value is not None or b.callable
    }
    return _DriverStatement(str(compiled), names, processors, fixed)


async def _fetch_value(
    driver: Any,
    statement: Any,
    values: dict[str, Any],
    column_keys: tuple[str, ...] | None = None,
) -> Any:
    """The first column of the first row `statement` returns, run with `values` on a driver
    connection (`database.driver_connection`; None: no row). A unique index met raises
    SQLAlchemy's IntegrityError, as `Connection.execute` would."""
    dialect = get_engine().dialect
    prepared = _for_driver(statement, dialect, column_keys)
    args = prepared.args(values)
    try:
        if dialect.name == "postgresql":
            return await driver.fetchval(prepared.sql, *args)
        cursor = driver.cursor()  # the inline SQLite connection (app/core/sqlite_inline.py)
        try:
            await cursor.execute(prepared.sql, args)
            found = await cursor.fetchone()
        finally:
            await cursor.close()
        return None if found is None else found[0]
    except (asyncpg.IntegrityConstraintViolationError, sqlite3.IntegrityError) as exc:
        raise IntegrityError(prepared.sql, args, exc) from exc


@cache
def _answer_statement() -> Any:
    """PostgreSQL: WITH saved AS (INSERT the transcript row RETURNING id) INSERT the answer
    row with that id, RETURNING it."""
    saved = (
        insert(_TRANSCRIPTS)
        .values(_params(_TRANSCRIPTS, "t_"))
        .returning(_TRANSCRIPTS.c.id)
        .cte("saved")
    )
    values = {
        **_params(_ANSWERS, "a_", skip="transcript_id"),
        "transcript_id": core_select(saved.c.id).scalar_subquery(),
    }
    return insert(_ANSWERS).values(values).add_cte(saved).returning(_ANSWERS.c.transcript_id)


@cache
def _ai_turn_statement() -> Any:
    """PostgreSQL: INSERT the row SELECTed from its values WHERE the interview is in progress,
    RETURNING its id (no row: not in progress)."""
    in_progress = exists().where(
        col(Interview.id) == bindparam("interview"),
        col(Interview.status) == InterviewStatus.IN_PROGRESS,
    )
    params = _params(_TRANSCRIPTS, "t_")
    chosen = core_select(*params.values()).where(in_progress)
    return insert(_TRANSCRIPTS).from_select(list(params), chosen).returning(_TRANSCRIPTS.c.id)
