"""InterviewConductorService without a socket: turns, persistence, rules, session rebuild."""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import os
import zlib
from datetime import timedelta

import orjson
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.ai.errors import AIUnavailableError
from app.core.config import get_settings
from app.core.database import get_engine, session_factory
from app.core.redis import get_redis
from app.models import (
    Evaluation,
    Interview,
    InterviewAnswer,
    InterviewStatus,
    InterviewTranscript,
    TranscriptRole,
)
from app.services import lifecycle
from app.services.interview_conductor_service import (
    SUPERSEDED_TEXT,
    InterviewConductorService,
    InterviewNotFoundError,
    InvalidStateError,
    TurnInProgressError,
    TurnLease,
    plan_reply,
    turn_key,
)
from app.services.interview_events import Subscriber, get_hub
from app.services.interview_session import (
    COMPRESSED,
    InterviewSession,
    load_session,
    rebuild_session,
    session_key,
)
from app.services.turn_saves import TurnRow, save_ai_turn, save_answer
from tests.support.aio import EveryIteration
from tests.support.db_trace import QueryLog
from tests.support.factories import make_interview

ANSWER = "I designed a payments ledger in Python with PostgreSQL and Redis for three years"


async def rows_of(interview_id: int) -> list[InterviewTranscript]:
    async with session_factory()() as db:
        result = await db.exec(
            select(InterviewTranscript)
            .where(InterviewTranscript.interview_id == interview_id)
            .order_by(col(InterviewTranscript.seq))
        )
        return list(result.all())


async def started(db, **kw):
    setup = await make_interview(db, **kw)
    conductor = InterviewConductorService()
    outcome = await conductor.start_interview(setup.interview.id)
    assert outcome.greeting_due and not outcome.was_running
    greeting = [e async for e in conductor.stream_greeting(setup.interview.id)]
    return setup, conductor, greeting


async def test_stream_process_message_yields_chunks_then_stream_end_and_saves_once(db):
    setup, conductor, greeting = await started(db)
    iid = setup.interview.id
    assert next(e["type"] for e in greeting) == "stream_start"
    events = [e async for e in conductor.stream_process_message(iid, ANSWER, "c1")]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "thinking" and kinds[1] == "stream_start" and kinds[-1] == "stream_end"
    assert set(kinds[2:-1]) == {"stream_chunk"}
    end = events[-1]
    assert end["content"] == "".join(e["content"] for e in events if e["type"] == "stream_chunk")
    assert end["question_number"] == 2 and end["total_questions"] == 3
    assert end["is_complete"] is False and end["time_remaining_min"] == 30
    seqs = [e["seq"] for e in greeting + events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    rows = await rows_of(iid)
    ai = [r for r in rows if r.role == TranscriptRole.AI]
    assert len(ai) == 2 and ai[-1].content == end["content"] and ai[-1].seq == end["seq"]
    assert ai[-1].stream_id == end["stream_id"] and ai[-1].reply_to_id == rows[1].id
    async with session_factory()() as s:
        answers = (await s.exec(select(InterviewAnswer))).all()
    assert [(a.question_id, a.content) for a in answers] == [(setup.questions[0].id, ANSWER)]
    session = await load_session(iid)
    assert session is not None and session.question_index == 1
    assert [h["id"] for h in session.history] == [r.id for r in rows]  # the answer once


async def test_process_message_returns_the_finished_turn(db):
    setup, conductor, _ = await started(db)
    end = await conductor.process_message(setup.interview.id, ANSWER, "c1")
    assert end is not None and end["type"] == "stream_end" and end["question_number"] == 2
    assert await conductor.process_message(setup.interview.id, ANSWER, "c1") is None


async def test_provider_failure_keeps_the_answer_and_a_retry_does_not_save_it_twice(db, standin):
    setup, conductor, _ = await started(db)
    iid = setup.interview.id
    standin.control(mode="fail", times=1)
    with pytest.raises(AIUnavailableError):
        await conductor.process_message(iid, ANSWER, "c1")
    rows = await rows_of(iid)
    assert [r.role for r in rows] == [TranscriptRole.AI, TranscriptRole.CANDIDATE]
    end = await conductor.process_message(iid, ANSWER, "c1")
    assert end is not None
    rows = await rows_of(iid)
    assert [r.role for r in rows] == [
        TranscriptRole.AI,
        TranscriptRole.CANDIDATE,
        TranscriptRole.AI,
    ]
    assert rows[2].reply_to_id == rows[1].id
    # the cached history (what the next prompt is built from) has the answer once, then the
    # reply: the failed turn wrote no session, the retry added the answer it found missing
    session = await load_session(iid)
    assert session is not None
    assert [h["id"] for h in session.history] == [r.id for r in rows]
    assert await get_redis().get(turn_key(iid)) is None


async def test_a_turn_gives_its_lease_back_with_its_last_writes_even_if_redis_lost_scripts(db):
    """The turn's end saves the session and gives the lease back in one round trip (with a
    Redis server, a script that deletes the lease only if it is still this turn's). A Redis
    that lost its scripts (a restart, SCRIPT FLUSH) gets it loaded again: nothing is left held."""
    setup, conductor, _ = await started(db)
    iid = setup.interview.id
    if not get_settings().redis_in_process:
        await get_redis().script_flush()
    end = await conductor.process_message(iid, ANSWER, "c1")
    assert end is not None and await get_redis().get(turn_key(iid)) is None
    session = await load_session(iid, rebuild=False)
    assert session is not None and session.history[-1]["stream_id"] == end["stream_id"]
    assert await conductor.process_message(iid, ANSWER + " again", "c2") is not None


async def test_a_turn_leaves_a_lease_that_is_no_longer_its_own(db):
    """A lease that expired mid-turn and was taken by another holder is not given back by the
    turn that lost it."""
    setup, conductor, _ = await started(db)
    iid = setup.interview.id
    other = "another-process:0001"
    events = []
    async for event in conductor.stream_process_message(iid, ANSWER, "c1"):
        events.append(event["type"])
        if event["type"] == "stream_start":
            await get_redis().set(turn_key(iid), other, ex=30)
    assert events[-1] == "stream_end"
    assert await get_redis().get(turn_key(iid)) == other


async def test_the_session_rebuilds_itself_from_the_database(db):
    setup, conductor, _ = await started(db)
    iid = setup.interview.id
    await conductor.process_message(iid, "Yes.", "short")  # follow-up on question 1
    before = await load_session(iid)
    assert before is not None and before.follow_up_used and before.question_index == 0
    await get_redis().delete(session_key(iid))
    rebuilt = await load_session(iid)
    assert rebuilt is not None
    assert rebuilt == before
    assert await get_redis().exists(session_key(iid))  # and it is cached again
    end = await conductor.process_message(iid, "Still short.", "short-2")
    assert end is not None and end["question_number"] == 2  # no second follow-up


async def test_the_cached_session_is_compressed_where_redis_is_this_processs_memory(db):
    """memory://: the session of every open interview sits in this process's memory, so it is
    cached compressed; with a Redis server it is plain JSON. Either form loads in either mode
    (a deployment that switches keeps its sessions)."""
    setup, conductor, _ = await started(db)
    iid = setup.interview.id
    await conductor.process_message(iid, ANSWER, "c1")
    session = await load_session(iid)
    assert session is not None and len(session.history) == 3
    cached = (await get_redis().get(session_key(iid))).encode()
    as_json = orjson.dumps(session)
    if get_settings().redis_in_process:
        assert cached.startswith(COMPRESSED) and len(cached) < len(as_json) * 0.8
    else:
        assert cached == as_json
    for form in (as_json, COMPRESSED + base64.b64encode(zlib.compress(as_json))):
        await get_redis().set(session_key(iid), form)
        assert await load_session(iid) == session
    await get_redis().set(session_key(iid), COMPRESSED + b"not base64!")
    with pytest.raises(binascii.Error):
        await load_session(iid)


async def test_turn_rules(db):
    setup = await make_interview(db)
    session = await rebuild_session(setup.interview.id)
    assert isinstance(session, InterviewSession)
    session.started_at = "2026-01-01T00:00:00+00:00"
    session.duration_min = 10**6
    plan = plan_reply(session, "short answer", 6)
    assert plan.is_follow_up and plan.question_index == 0
    session.follow_up_used = True
    plan = plan_reply(session, "short answer", 6)
    assert not plan.is_follow_up and plan.question_index == 1
    plan = plan_reply(session, ANSWER, 6)
    assert plan.question_index == 1 and not plan.is_follow_up
    session.question_index, session.follow_up_used = 2, False
    assert plan_reply(session, ANSWER, 6).kind == "closing"
    session.duration_min = 1  # long past
    plan = plan_reply(session, ANSWER, 6)
    assert plan.kind == "closing" and plan.closing_reason == "time_up"


async def test_time_up_closes_and_completes(db):
    setup, conductor, _ = await started(db)
    iid = setup.interview.id
    async with session_factory()() as s:
        interview = await s.get(Interview, iid)
        assert interview is not None and interview.started_at is not None
        interview.started_at = interview.started_at - timedelta(minutes=31)
        s.add(interview)
        await s.commit()
    await get_redis().delete(session_key(iid))
    events = [e async for e in conductor.stream_process_message(iid, ANSWER, "c1")]
    assert [e["type"] for e in events][-2:] == ["stream_end", "complete"]
    assert events[-2]["is_complete"] is True and events[-2]["time_remaining_min"] == 0
    async with session_factory()() as s:
        interview = await s.get(Interview, iid)
        assert interview is not None and interview.status == InterviewStatus.COMPLETED
    with pytest.raises(InvalidStateError):
        [e async for e in conductor.stream_process_message(iid, ANSWER, "c2")]


async def test_end_interview_completes_once_and_queues_the_evaluation(db):
    setup, conductor, _ = await started(db)
    iid = setup.interview.id
    await conductor.process_message(iid, ANSWER, "c1")
    ended = await conductor.end_interview(iid)
    assert ended is not None and ended["type"] == "ended" and ended["seq"] > 0
    assert await conductor.end_interview(iid) is None
    await lifecycle.drain()
    async with session_factory()() as s:
        interview = await s.get(Interview, iid)
        evaluation = (await s.exec(select(Evaluation).where(Evaluation.interview_id == iid))).one()
    assert interview is not None and interview.status == InterviewStatus.COMPLETED
    assert interview.ended_at is not None
    assert evaluation.status.value == "done" and evaluation.method == "llm"
    assert [q["question_id"] for q in evaluation.question_scores] == [q.id for q in setup.questions]


async def test_thinking_goes_out_as_soon_as_the_answer_is_durable_not_when_the_turn_wakes(
    db, monkeypatch
):
    """`thinking` (the answer's seq) says the answer is saved. Embedded, the callback that
    learns the WAL's fsync covered the answer's commit publishes it, a loop iteration before
    the turn's task wakes from the save (`make bench`: under load an iteration is several
    ms); on PostgreSQL the turn publishes it once its statement has returned."""
    setup, conductor, _ = await started(db)
    iid = setup.interview.id
    synced = [0]
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        real_fsync(fd)
        synced[0] += 1

    monkeypatch.setattr(os, "fsync", counting_fsync)
    heard: list[tuple[str, asyncio.Task[object] | None, int]] = []
    log = get_hub().log(iid)
    sub = Subscriber(
        iid, lambda: heard.append((sub.events[-1]["type"], asyncio.current_task(), synced[0]))
    )
    log.subscribers.add(sub)
    try:
        turn = conductor.stream_process_message(iid, ANSWER, "c1")
        first = await turn.__anext__()
        await turn.aclose()
    finally:
        log.subscribers.discard(sub)
    answer = next(r for r in await rows_of(iid) if r.role == TranscriptRole.CANDIDATE)
    assert first["type"] == "thinking" and first["seq"] == answer.seq
    kind, task, fsyncs = heard[0]
    assert kind == "thinking"
    if get_engine().dialect.name == "postgresql":
        assert task is asyncio.current_task()  # the turn (here: this test's task)
    else:
        assert task is None  # a plain callback: the sync thread's hand-back
        assert fsyncs >= 1  # after the fsync that made the answer durable


async def test_an_answers_turn_is_hurried_up_to_its_save_and_no_longer(db):
    """While the answer's turn waits for its round trips (Redis's, the save's) its wake-ups
    run before the loop's next slice of model reads (`read_gate.hurried`: the loop's
    `call_soon` wrapped); from `thinking` on, and after a refused answer, no longer."""
    setup, conductor, _ = await started(db)
    iid = setup.interview.id
    loop = asyncio.get_running_loop()
    wrapped: list[bool] = []
    watch = EveryIteration(lambda: wrapped.append("call_soon" in vars(loop)))
    turn = conductor.stream_process_message(iid, ANSWER, "c1")
    first = await turn.__anext__()
    at_thinking = "call_soon" in vars(loop)
    await turn.aclose()
    watch.stop()
    assert first["type"] == "thinking"
    assert True in wrapped and not at_thinking
    lease = TurnLease(iid)
    assert await lease.acquire()  # another process is generating: this answer is refused
    with pytest.raises(TurnInProgressError):
        [e async for e in conductor.stream_process_message(iid, ANSWER, "c2")]
    await lease.release()
    assert "call_soon" not in vars(loop)


async def test_one_turn_at_a_time_per_interview(db):
    setup, conductor, _ = await started(db)
    lease = TurnLease(setup.interview.id)
    assert await lease.acquire()  # another process is generating
    with pytest.raises(TurnInProgressError):
        [e async for e in conductor.stream_process_message(setup.interview.id, ANSWER, "c1")]
    await lease.release()
    assert len(await rows_of(setup.interview.id)) == 1  # nothing saved meanwhile


async def test_a_message_before_start_is_refused(db):
    setup = await make_interview(db)
    conductor = InterviewConductorService()
    with pytest.raises(InvalidStateError):
        [e async for e in conductor.stream_process_message(setup.interview.id, ANSWER, "c1")]


async def _interrupted_turn(db, interrupt) -> tuple[list[dict], list[InterviewTranscript]]:
    """A reply whose stream is interrupted by `interrupt(interview_id, answer_row)` after its
    first piece, as another process or HR would; returns the turn's events and the rows."""
    setup, conductor, _ = await started(db)
    iid = setup.interview.id
    events = []
    async for event in conductor.stream_process_message(iid, ANSWER, "c1"):
        events.append(event)
        if event["type"] == "stream_chunk" and event["chunk_index"] == 0:
            answer = next(r for r in await rows_of(iid) if r.role == TranscriptRole.CANDIDATE)
            await interrupt(iid, answer)
    return events, await rows_of(iid)


async def test_a_reply_finished_after_the_interview_ended_is_withdrawn_not_saved(db):
    async def end_it(iid: int, _answer: InterviewTranscript) -> None:
        async with session_factory()() as s:
            interview = await s.get(Interview, iid)
            assert interview is not None
            interview.status = InterviewStatus.COMPLETED
            await s.commit()

    events, rows = await _interrupted_turn(db, end_it)
    assert events[-1]["type"] == "error" and events[-1]["content"] == SUPERSEDED_TEXT
    assert "stream_end" not in [e["type"] for e in events]
    assert [r.role for r in rows] == [TranscriptRole.AI, TranscriptRole.CANDIDATE]


async def test_a_reply_another_process_saved_first_is_withdrawn_and_saved_once(db):
    async def save_elsewhere(iid: int, answer: InterviewTranscript) -> None:
        async with session_factory()() as s:
            s.add(
                InterviewTranscript(
                    interview_id=iid,
                    seq=10_000,
                    role=TranscriptRole.AI,
                    content="The other process's reply.",
                    stream_id="elsewhere",
                    kind="response",
                    reply_to_id=answer.id,
                )
            )
            await s.commit()

    events, rows = await _interrupted_turn(db, save_elsewhere)
    assert events[-1]["type"] == "error" and events[-1]["content"] == SUPERSEDED_TEXT
    replies = [r for r in rows if r.role == TranscriptRole.AI and r.reply_to_id is not None]
    assert [r.stream_id for r in replies] == ["elsewhere"]


async def test_start_moves_scheduled_to_in_progress_once_and_refuses_the_finished_and_unknown(db):
    setup = await make_interview(db)
    iid = setup.interview.id
    conductor = InterviewConductorService()
    first = await conductor.start_interview(iid)
    assert not first.was_running and first.greeting_due
    async with session_factory()() as s:
        interview = await s.get(Interview, iid)
        assert interview is not None and interview.status == InterviewStatus.IN_PROGRESS
        started_at = interview.started_at
    assert started_at is not None
    again = await conductor.start_interview(iid)  # a reconnect: running, started_at kept
    assert again.was_running and again.greeting_due
    async with session_factory()() as s:
        interview = await s.get(Interview, iid)
        assert interview is not None and interview.started_at == started_at
    await conductor.end_interview(iid)
    with pytest.raises(InvalidStateError):
        await conductor.start_interview(iid)
    with pytest.raises(InterviewNotFoundError):
        await conductor.start_interview(iid + 10_000)


def a_row(iid: int, seq: int, content: str, **extra) -> TurnRow:
    """A candidate's row (with a `client_msg_id`), else an AI turn's (with a `stream_id`)."""
    candidate = "client_msg_id" in extra
    kind = {"answer_mode": "text"} if candidate else {"kind": "response"}
    role = TranscriptRole.CANDIDATE if candidate else TranscriptRole.AI
    return TurnRow(interview_id=iid, seq=seq, role=role, content=content, **{**kind, **extra})


def test_a_turn_row_has_the_transcript_tables_columns_and_defaults():
    """A turn saves `TurnRow`s, not ORM instances: every column of the table, the same
    defaults (a column added to the model and not to the row fails here, not in a save)."""
    columns = {c.name for c in InterviewTranscript.__table__.columns}  # type: ignore[attr-defined]
    assert {f.name for f in dataclasses.fields(TurnRow)} == columns
    ours = TurnRow(interview_id=1, seq=2, role=TranscriptRole.AI, content="x")
    model = InterviewTranscript(interview_id=1, seq=2, role=TranscriptRole.AI, content="x")
    for name in columns - {"created_at"}:
        assert getattr(ours, name) == getattr(model, name), name
    assert abs(ours.created_at - model.created_at) < timedelta(seconds=5)
    assert ours.created_at.tzinfo is not None


async def test_saved_turn_rows_read_back_column_for_column(db):
    """What a turn saves is what it made: every column of both rows, and the answer's filing
    (its question, its text, the same moment)."""
    setup, _conductor, _ = await started(db)
    iid = setup.interview.id
    answer = a_row(iid, 800, ANSWER, client_msg_id="c800", answer_mode="voice")
    await save_answer(answer, setup.questions[1].id)
    reply = a_row(
        iid,
        801,
        "Why?",
        stream_id="s801",
        reply_to_id=answer.id,
        question_index=1,
        is_follow_up=True,
    )
    assert await save_ai_turn(reply)
    saved = {r.seq: r for r in await rows_of(iid)}
    for made in (answer, reply):
        assert made.id is not None
        back = saved[made.seq]
        for f in dataclasses.fields(TurnRow):
            assert getattr(back, f.name) == getattr(made, f.name), f.name
    async with session_factory()() as s:
        filed = (
            await s.exec(select(InterviewAnswer).where(InterviewAnswer.interview_id == iid))
        ).one()
    assert (filed.transcript_id, filed.question_id, filed.content) == (
        answer.id,
        setup.questions[1].id,
        ANSWER,
    )
    assert filed.created_at == answer.created_at


async def test_a_turns_saves_are_one_statement_each_on_postgresql_and_all_or_nothing(db):
    """On PostgreSQL the answer's two rows and the AI turn's row are one statement each (one
    round trip on the answer's path, no BEGIN or COMMIT); on SQLite a transaction of several.
    Either way a repeat saves nothing at all, and an AI turn of an interview no longer in
    progress is not saved. The saves run on the driver's connection: what the driver ran is
    read there (asyncpg's query logger, SQLite's trace callback), on connections made now."""
    setup, _conductor, _ = await started(db)
    iid = setup.interview.id
    engine = get_engine()
    await engine.dispose()  # the pool's connections are made again, each one followed
    statements = QueryLog(engine)
    try:
        answer = a_row(iid, 900, ANSWER, client_msg_id="x1")
        await save_answer(answer, setup.questions[0].id)
        reply = a_row(
            iid, 901, "Thanks. Next?", stream_id="s901", reply_to_id=answer.id, question_index=1
        )
        assert await save_ai_turn(reply)
        await asyncio.sleep(0.05)  # asyncpg hands a query to its loggers after it ran
    finally:
        statements.stop()
    ran = [s.strip().upper() for s in statements if s.strip() and s.strip() != ";"]
    writes = [s for s in ran if s.startswith(("INSERT", "WITH"))]
    if get_engine().dialect.name == "postgresql":
        assert len(writes) == 2 and writes[0].startswith("WITH"), ran
        assert not [s for s in ran if s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))], ran
    else:
        assert len(writes) == 3, ran
        assert len([s for s in ran if s.startswith("SELECT")]) == 1, ran  # the status
    async with session_factory()() as s:
        filed = (
            await s.exec(select(InterviewAnswer).where(InterviewAnswer.interview_id == iid))
        ).all()
    assert [(a.transcript_id, a.question_id, a.content) for a in filed] == [
        (answer.id, setup.questions[0].id, ANSWER)
    ]
    assert [(r.id, r.seq) for r in await rows_of(iid) if r.seq >= 900] == [
        (answer.id, 900),
        (reply.id, 901),
    ]

    again = a_row(iid, 902, "again", client_msg_id="x1")
    with pytest.raises(IntegrityError):
        await save_answer(again, None)
    twice = a_row(iid, 903, "twice", stream_id="s901")
    with pytest.raises(IntegrityError):
        await save_ai_turn(twice)
    async with session_factory()() as s:
        interview = await s.get(Interview, iid)
        assert interview is not None
        interview.status = InterviewStatus.COMPLETED
        s.add(interview)
        await s.commit()
    late = a_row(iid, 904, "late", stream_id="s904")
    assert not await save_ai_turn(late) and late.id is None
    async with session_factory()() as s:
        count = len(
            (await s.exec(select(InterviewAnswer).where(InterviewAnswer.interview_id == iid))).all()
        )
    assert count == 1
    assert [r.seq for r in await rows_of(iid) if r.seq >= 900] == [900, 901]
