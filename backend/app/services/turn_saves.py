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
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, insert
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select

from app.core.database import autocommit, get_engine, transaction
from app.models import (
    Interview,
    InterviewAnswer,
    InterviewStatus,
    InterviewTranscript,
)

INTERVIEW_STATUS = select(Interview.status).where(col(Interview.id) == bindparam("id"))
_TRANSCRIPTS: Any = InterviewTranscript.__table__  # type: ignore[attr-defined]
_ANSWERS: Any = InterviewAnswer.__table__  # type: ignore[attr-defined]


async def save_answer(row: InterviewTranscript, question_id: int | None) -> None:
    """Save a candidate's turn `row` and its answer row (filed under `question_id`); sets
    `row.id`."""
    answer = InterviewAnswer(  # transcript_id: the id the transcript row gets
        interview_id=row.interview_id,
        question_id=question_id,
        transcript_id=0,
        content=row.content,
    )
    if _postgres():
        async with autocommit() as conn:
            result = await conn.execute(
                _answer_statement(),
                {**_values(row, "t_"), **_values(answer, "a_", skip="transcript_id")},
            )
            row.id = int(result.scalar_one())
        return
    async with transaction() as conn:
        row.id = await _insert(conn, row)
        answer.transcript_id = row.id
        await _insert(conn, answer)


async def save_ai_turn(row: InterviewTranscript) -> bool:
    """Save an AI turn `row` (sets `row.id`) if its interview is still in progress; False
    (nothing saved) when it is not."""
    if _postgres():
        async with autocommit() as conn:
            result = await conn.execute(
                _ai_turn_statement(), {"interview": row.interview_id, **_values(row, "t_")}
            )
            new_id = result.scalar_one_or_none()
        if new_id is None:
            return False
        row.id = int(new_id)
        return True
    async with transaction() as conn:
        status = (
            await conn.execute(INTERVIEW_STATUS, {"id": row.interview_id})
        ).scalar_one_or_none()
        if status != InterviewStatus.IN_PROGRESS:
            return False
        row.id = await _insert(conn, row)
    return True


def _postgres() -> bool:
    return get_engine().dialect.name == "postgresql"


@cache
def _columns(table: Any, skip: str = "") -> tuple[str, ...]:
    """The table's column names but id and `skip` (once per table: saves are a hot path)."""
    return tuple(c.name for c in table.columns if c.name not in ("id", skip))


def _values(
    row: InterviewTranscript | InterviewAnswer, prefix: str = "", skip: str = ""
) -> dict[str, Any]:
    """The row's columns (all but id and `skip`, as set on it), named as `_params` names them."""
    table: Any = type(row).__table__  # type: ignore[union-attr]
    return {prefix + name: getattr(row, name) for name in _columns(table, skip)}


def _params(table: Any, prefix: str, skip: str = "") -> dict[str, Any]:
    return {
        name: bindparam(prefix + name, type_=table.c[name].type) for name in _columns(table, skip)
    }


@cache
def _insert_statement(table: Any) -> Any:
    return insert(table).returning(table.c.id)


async def _insert(conn: AsyncConnection, row: InterviewTranscript | InterviewAnswer) -> int:
    """INSERT `row` (every column but id, as set on it) and return its new id."""
    table: Any = type(row).__table__  # type: ignore[union-attr]
    return int((await conn.execute(_insert_statement(table), _values(row))).scalar_one())


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
