"""Turn logic and persistence of an interview: greeting, answers, follow-ups, closing, end.

Every turn publishes its events to the interview's event log (so every socket of the
interview, on any process, sees them with one `seq`) and also yields them to the caller.
A turn holds a lease in Redis (`interview:turn:{id}`) so that only one runs at a time per
interview across processes. Rows are saved exactly once: candidate turns are unique per
`client_msg_id`, AI turns per `stream_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from redis.exceptions import NoScriptError
from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.ai.chains.interview_chain import InterviewContext, TurnPlan, stream_interview_response
from app.ai.errors import AIUnavailableError
from app.core import metrics
from app.core.config import get_settings
from app.core.database import autocommit, autocommit_session, session_factory
from app.core.read_gate import hurried
from app.core.redis import get_redis, script
from app.models import (
    Interview,
    InterviewStatus,
    InterviewTranscript,
    TranscriptRole,
    utcnow,
)
from app.services.interview_events import (
    PROCESS_ID,
    STATE_TTL_SEC,
    Event,
    EventHub,
    epoch_key,
    get_hub,
    process_alive,
    seq_key,
)
from app.services.interview_session import (
    InterviewSession,
    history_entry,
    load_session,
    queue_save_session,
    save_session,
    session_key,
)
from app.services.turn_saves import (
    INTERVIEW_STATUS,
    Transcript,
    TurnRow,
    save_ai_turn,
    save_answer,
)

logger = logging.getLogger("app.conductor")

# On every interview's first open and every answer: built once, their parameters bound at run
# time (building a statement and its cache key cost about as much as running it)
_START = (  # scheduled -> in_progress
    update(Interview)
    .where(col(Interview.id) == bindparam("interview"))  # not `id`: a column's name
    .where(col(Interview.status) == InterviewStatus.SCHEDULED)
    .values(status=InterviewStatus.IN_PROGRESS, started_at=bindparam("now"))
    .execution_options(synchronize_session=False)  # no objects of it in the session
)
_LAST_TURN = (
    select(InterviewTranscript)
    .where(col(InterviewTranscript.interview_id) == bindparam("id"))
    .order_by(col(InterviewTranscript.seq).desc())
    .limit(1)
)
_ANSWER_ID = (
    select(InterviewTranscript.id)
    .where(col(InterviewTranscript.interview_id) == bindparam("id"))
    .where(col(InterviewTranscript.client_msg_id) == bindparam("cid"))
)
_REPLY_ID = select(InterviewTranscript.id).where(
    col(InterviewTranscript.reply_to_id) == bindparam("answer")
)
TURN_LEASE_SEC = 30
COUNT_TTL_SEC = 120  # a per-minute frame count's key outlives its minute
LEASE_REFRESH_SEC = 10
COMPLETE_TEXT = "The interview is complete. Thank you for your time; HR will be in touch."
AI_UNAVAILABLE_TEXT = "The AI interviewer is unavailable right now. Please send your answer again."
SUPERSEDED_TEXT = "This reply was replaced; the interviewer's answer is in the conversation."
ENDED_TEXT = "The interview has ended. Thank you for your time."
WAIT_TEXT = "Please wait for the interviewer to finish"
SPEAKING_TEXT = "The interviewer is already speaking"


@dataclass(frozen=True)
class StartOutcome:
    was_running: bool
    greeting_due: bool


class ConductorError(Exception):
    """A refusal that becomes an `error` frame with `code` (the socket stays open)."""

    code = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InterviewNotFoundError(ConductorError):
    code = "INTERVIEW_NOT_FOUND"


class InvalidStateError(ConductorError):
    code = "INTERVIEW_INVALID_STATE"


class TurnInProgressError(ConductorError):
    code = "TURN_IN_PROGRESS"


class RateLimitedError(ConductorError):
    code = "RATE_LIMITED"


@dataclass(frozen=True)
class FrameCount:
    """A frame's count against a per-minute limit (`INCR` of `key`, which expires), made in
    the turn's first Redis round trip; past `limit` the turn is refused with `message`."""

    key: str
    limit: int
    message: str

    def queue(self, pipe: Any) -> None:
        """The count as commands of the caller's pipeline (one result: the count so far)."""
        pipe.incr(self.key)
        pipe.expire(self.key, COUNT_TTL_SEC)

    def over(self, counted: Any) -> bool:
        return int(counted) > self.limit


def turn_key(interview_id: int) -> str:
    return f"interview:turn:{interview_id}"


# The lease given back by its holder only, in one command: with a Redis server, in the same
# round trip as the turn's last writes (a GET there and a DEL after it were two)
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class TurnLease:
    """`interview:turn:{id}`: which process runs the interview's AI turn now."""

    def __init__(self, interview_id: int) -> None:
        self.key = turn_key(interview_id)
        self.value = f"{PROCESS_ID}:{secrets.token_hex(4)}"
        self._refreshed = 0.0
        self._released = False

    def queue_take(self, pipe: Any) -> None:
        """The first try of `acquire` as a command of the caller's pipeline (its result: True
        when taken; on False, `acquire` tells a dead holder from a live one)."""
        self._refreshed = time.monotonic()
        pipe.set(self.key, self.value, nx=True, ex=TURN_LEASE_SEC)

    async def acquire(self) -> bool:
        """Take the lease; one held by a process that died is taken over."""
        redis = get_redis()
        self._refreshed = time.monotonic()
        if await redis.set(self.key, self.value, nx=True, ex=TURN_LEASE_SEC):
            return True
        holder = await redis.get(self.key)
        if holder is None or await process_alive(str(holder).split(":", 1)[0]):
            return bool(
                holder is None and await redis.set(self.key, self.value, nx=True, ex=TURN_LEASE_SEC)
            )
        logger.warning("%s: taking over the lease of a dead process", self.key)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key)
            pipe.set(self.key, self.value, nx=True, ex=TURN_LEASE_SEC)
            _, ok = await pipe.execute()
        return bool(ok)

    @staticmethod
    async def holder_alive(interview_id: int) -> bool | None:
        """None: nobody holds the lease; else whether its holder's process is alive."""
        holder = await get_redis().get(turn_key(interview_id))
        if holder is None:
            return None
        return await process_alive(str(holder).split(":", 1)[0])

    def refresh_due(self) -> bool:
        """Whether `keep_alive` would touch Redis now."""
        return time.monotonic() - self._refreshed >= LEASE_REFRESH_SEC

    async def keep_alive(self) -> None:
        """Cheap to call per piece: touches Redis only every LEASE_REFRESH_SEC (and takes
        the lease again if Redis lost it, unless someone else has it now)."""
        if self.refresh_due():
            self._refreshed = time.monotonic()
            redis = get_redis()
            if not await redis.expire(self.key, TURN_LEASE_SEC):
                await redis.set(self.key, self.value, nx=True, ex=TURN_LEASE_SEC)

    async def release(self) -> None:
        """Give the lease back (once: a turn releases it when its reply is saved, and again,
        as a no-op, when it ends)."""
        if not self._released:
            self._released = True  # before the wait: a second call meanwhile does nothing
            await self._give_back(await get_redis().get(self.key))

    def queue_release(self, pipe: Any) -> None:
        """`release` as a command of the caller's pipeline, its result for `released`: with a
        Redis server the script that deletes the lease if it is still ours; in-process (no
        scripting) the read of its holder, and the delete after it."""
        if get_settings().redis_in_process:
            pipe.get(self.key)
        else:
            pipe.evalsha(script(RELEASE_SCRIPT).sha, 1, self.key, self.value)

    async def released(self, result: Any) -> None:
        """After `queue_release`'s pipeline, with its result (`execute(raise_on_error=False)`)."""
        if get_settings().redis_in_process:
            await self.release_read(result)  # the holder read: deleted now if still ours
            return
        if self._released:
            return
        self._released = True
        if isinstance(result, NoScriptError):  # Redis lost its scripts (a restart, a flush)
            await script(RELEASE_SCRIPT)(keys=[self.key], args=[self.value])
        elif isinstance(result, Exception):
            raise result

    async def release_read(self, holder: Any) -> None:
        if not self._released:
            self._released = True
            await self._give_back(holder)

    async def _give_back(self, holder: Any) -> None:
        if holder == self.value:  # not another's, taken after ours expired
            await get_redis().delete(self.key)


def with_answer(session: InterviewSession, row: Transcript) -> None:
    """The candidate's saved answer in the session's history, once."""
    if not any(entry["id"] == row.id for entry in reversed(session.history)):
        session.history.append(history_entry(row))


def _context(session: InterviewSession) -> InterviewContext:
    return InterviewContext(
        candidate_name=session.candidate_name,
        job_title=session.job_title,
        job_description=session.job_description,
        job_skills=list(session.job_skills),
        resume_text=session.resume_text,
        questions=[q["text"] for q in session.questions],
        history=[{"role": h["role"], "content": h["content"]} for h in session.history],
        time_remaining_min=session.time_remaining_min(),
    )


def plan_reply(session: InterviewSession, answer: str, follow_up_max_words: int) -> TurnPlan:
    """The turn rules of PROTOCOL.md: one follow-up for a thin answer, else move on or close."""
    if session.time_is_up():
        return TurnPlan(
            kind="closing",
            question_index=None,
            question_text=None,
            candidate_message=answer,
            closing_reason="time_up",
        )
    q = session.question_index
    if (
        q < session.total_questions
        and len(answer.split()) < follow_up_max_words
        and not session.follow_up_used
    ):
        return TurnPlan(
            kind="response",
            question_index=q,
            question_text=session.questions[q]["text"],
            is_follow_up=True,
            candidate_message=answer,
        )
    if q + 1 < session.total_questions:
        return TurnPlan(
            kind="response",
            question_index=q + 1,
            question_text=session.questions[q + 1]["text"],
            candidate_message=answer,
        )
    return TurnPlan(
        kind="closing",
        question_index=None,
        question_text=None,
        candidate_message=answer,
        closing_reason="all_answered",
    )


def greeting_plan(session: InterviewSession) -> TurnPlan:
    if session.total_questions == 0:
        return TurnPlan(
            kind="closing", question_index=None, question_text=None, closing_reason="all_answered"
        )
    return TurnPlan(kind="greeting", question_index=0, question_text=session.questions[0]["text"])


class InterviewConductorService:
    """Runs the turns of interviews. Stateless: state lives in the database and Redis."""

    def __init__(self, hub: EventHub | None = None) -> None:
        self.hub = hub or get_hub()

    # -- lifecycle ------------------------------------------------------------------------
    async def start_interview(self, interview_id: int) -> StartOutcome:
        """scheduled → in_progress (idempotent); says whether it was running already and
        whether the greeting is still due."""
        async with autocommit() as conn:  # Core statements: no ORM session to build
            # the UPDATE first: a scheduled interview (every first start) takes one statement
            started = await conn.execute(_START, {"interview": interview_id, "now": utcnow()})
            if started.rowcount:
                await conn.commit()
                was_running = False
            else:
                raw = (
                    await conn.execute(INTERVIEW_STATUS, {"id": interview_id})
                ).scalar_one_or_none()
                if raw is None:
                    raise InterviewNotFoundError("Interview not found")
                status = InterviewStatus(raw)
                if status != InterviewStatus.IN_PROGRESS:
                    raise InvalidStateError(f"Interview is {status.value}")
                was_running = True
        session = await self._fresh_session(interview_id)
        return StartOutcome(was_running=was_running, greeting_due=not session.greeted)

    async def _fresh_session(
        self, interview_id: int, cached: InterviewSession | None = None
    ) -> InterviewSession:
        session = cached or await load_session(interview_id)
        if session is None:
            raise InterviewNotFoundError("Interview not found")
        if session.status != InterviewStatus.IN_PROGRESS.value or session.started_at is None:
            # the cached copy predates a status change made in the database
            async with autocommit_session() as db:
                interview = await db.get(Interview, interview_id)
            if interview is None:
                raise InterviewNotFoundError("Interview not found")
            session.status = interview.status.value
            session.started_at = interview.started_at.isoformat() if interview.started_at else None
            await save_session(session)
        return session

    async def end_interview(self, interview_id: int, *, reason: str = "ended") -> Event | None:
        """Mark the interview completed, queue its evaluation, publish `ended`.

        Returns None when it had already finished (nothing is published twice)."""
        if not await self._complete(interview_id):
            return None
        event = await self._publish(interview_id, {"type": "ended", "content": ENDED_TEXT})
        return event

    async def _complete(self, interview_id: int) -> bool:
        async with autocommit_session() as db:
            result = await db.exec(
                update(Interview)
                .where(col(Interview.id) == interview_id)
                .where(
                    col(Interview.status).in_(
                        [InterviewStatus.SCHEDULED, InterviewStatus.IN_PROGRESS]
                    )
                )
                .values(status=InterviewStatus.COMPLETED, ended_at=utcnow())
            )
            await db.commit()
            changed = bool(result.rowcount)
        if changed:
            session = await load_session(interview_id)
            if session is not None:
                session.status = InterviewStatus.COMPLETED.value
                await save_session(session)
            from app.services.evaluation_service import queue_evaluation

            await queue_evaluation(interview_id)
        return changed

    async def _publish(self, interview_id: int, event: Event) -> Event:
        log = self.hub.log(interview_id)
        await log.begin()
        return await log.publish(event)

    # -- turns ----------------------------------------------------------------------------
    async def stream_greeting(self, interview_id: int) -> AsyncIterator[Event]:
        """The opening AI turn (idempotent: nothing happens once a greeting exists)."""
        lease = TurnLease(interview_id)
        session = await self._begin_turn(interview_id, lease, SPEAKING_TEXT)
        try:
            if session.greeted or session.status != InterviewStatus.IN_PROGRESS.value:
                return
            async for event in self._ai_turn(session, greeting_plan(session), None, lease):
                yield event
        finally:
            await lease.release()

    async def stream_closing(
        self, interview_id: int, reason: str = "time_up"
    ) -> AsyncIterator[Event]:
        """A closing turn without an answer (the time ran out while the candidate was silent)."""
        lease = TurnLease(interview_id)
        session = await self._begin_turn(interview_id, lease, SPEAKING_TEXT)
        try:
            if session.closed or session.status != InterviewStatus.IN_PROGRESS.value:
                return
            plan = TurnPlan(
                kind="closing",
                question_index=None,
                question_text=None,
                closing_reason="time_up" if reason == "time_up" else "all_answered",
            )
            async for event in self._ai_turn(session, plan, None, lease):
                yield event
        finally:
            await lease.release()

    async def stream_recover(self, interview_id: int) -> AsyncIterator[Event]:
        """Finish what a dead process left: a missing greeting or an unanswered answer.

        The partial text it streamed is withdrawn (`error AI_UNAVAILABLE` with its
        stream_id, as PROTOCOL.md says for a failed turn) and the turn is generated again;
        the reply is saved once. Yields nothing when there is nothing to recover."""
        lease = TurnLease(interview_id)
        if not await lease.acquire():
            return
        try:
            session = await self._fresh_session(interview_id)
            if session.status != InterviewStatus.IN_PROGRESS.value or session.closed:
                return
            unanswered = await self._unanswered(interview_id)
            if session.greeted and unanswered is None:
                return
            log = self.hub.log(interview_id)
            await log.begin()
            _, stale, _ = await self.hub.shared_state(interview_id)
            if stale is not None:
                yield await log.publish(
                    {
                        "type": "error",
                        "code": "AI_UNAVAILABLE",
                        "content": "The interviewer was interrupted; it is answering again.",
                        "stream_id": stale["stream_id"],
                    }
                )
            logger.info("interview %s: recovering an interrupted turn", interview_id)
            metrics.TURN_RECOVERIES.inc()
            if not session.greeted:
                plan = greeting_plan(session)
            else:
                assert unanswered is not None
                with_answer(session, unanswered)
                yield await log.publish({"type": "thinking"})
                plan = plan_reply(session, unanswered.content, get_settings().FOLLOW_UP_MAX_WORDS)
            async for event in self._ai_turn(session, plan, unanswered, lease):
                yield event
        finally:
            await lease.release()

    @staticmethod
    async def _unanswered(interview_id: int) -> InterviewTranscript | None:
        """The last candidate turn, if no AI turn answers it."""
        async with autocommit_session() as db:
            last = (await db.exec(_LAST_TURN, params={"id": interview_id})).first()
        if last is None or last.role != TranscriptRole.CANDIDATE:
            return None
        return last

    async def _begin_turn(
        self,
        interview_id: int,
        lease: TurnLease,
        refusal: str = WAIT_TEXT,
        count: FrameCount | None = None,
    ) -> InterviewSession:
        """Count the frame (`count`), take the turn lease and read the session and the event
        log's position, in one Redis round trip when nothing is amiss (the answer path waits
        on every trip)."""
        log = self.hub.log(interview_id)
        async with get_redis().pipeline(transaction=False) as pipe:
            if count is not None:
                count.queue(pipe)
            lease.queue_take(pipe)
            pipe.get(session_key(interview_id))
            pipe.get(epoch_key(interview_id))
            pipe.get(seq_key(interview_id))
            pipe.expire(seq_key(interview_id), STATE_TTL_SEC)
            *counted, got, raw_session, epoch, top, _ = await pipe.execute()
        if count is not None and count.over(counted[0]):
            await lease.release_read(lease.value if got else None)  # taken: given back
            raise RateLimitedError(count.message)
        if not got:  # held: perhaps by a dead process (taken over), else refused
            if not await lease.acquire():
                raise TurnInProgressError(refusal)
            raw_session = epoch = top = None  # read before the lease was ours: look again
        try:
            cached = InterviewSession.from_redis(raw_session) if raw_session else None
            session = await self._fresh_session(interview_id, cached)
            if not log.still_top(epoch, top):
                await log.begin(epoch=epoch, epoch_read=bool(got))
        except BaseException:
            await lease.release()
            raise
        return session

    async def stream_process_message(
        self,
        interview_id: int,
        content: str,
        client_msg_id: str | None = None,
        *,
        answer_mode: str = "text",
        durable_event: Event | None = None,
        count: FrameCount | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Save the candidate's answer, then stream the AI reply.

        Yields `thinking`, `stream_start`, `stream_chunk`…, `stream_end` (saved before it is
        sent) and, after the last answer or when time is up, `complete`. A repeated
        `client_msg_id` whose reply was saved yields nothing; one whose reply failed retries
        the reply without saving the answer again. `durable_event` (voice: `transcription`)
        replaces `thinking` as the event that makes the answer durable; `thinking` follows.
        `count`: the frame's rate-limit count, made in the turn's first round trip (past the
        limit: RateLimitedError, nothing saved).
        """
        received = time.monotonic()
        lease = TurnLease(interview_id)
        # up to the answer's save, each round trip's reply is acted on before the loop's next
        # slice of model reads, not behind it (`hurried`; `make bench`, K = 250)
        with hurried():
            session = await self._begin_turn(interview_id, lease, count=count)
        try:
            if session.status != InterviewStatus.IN_PROGRESS.value or session.closed:
                raise InvalidStateError(
                    "The interview has not started"
                    if session.status == "scheduled"
                    else "The interview is over"
                )
            log = self.hub.log(interview_id)
            said: list[Event] = []

            def durable(row: TurnRow) -> None:
                """The answer is saved: say so now (embedded: in the callback that learns
                it, a loop iteration before this turn wakes up; `make bench`)."""
                if durable_event is None:
                    said.append(log.publish_now({"type": "thinking"}, seq=row.seq))
                    metrics.TURN_THINKING.observe(time.monotonic() - received)
                else:
                    event = {**durable_event, "content": row.content}
                    said.append(log.publish_now(event, seq=row.seq))

            with hurried():
                saved = await self._save_answer(
                    session, content, client_msg_id, answer_mode, durable
                )
            if saved is None:
                return  # a repeat of an answered message: no reply, nothing changes
            row, first_time = saved
            # the cached session gets the answer with the reply's write (`_ai_turn`), one write
            # a turn: until then the database has it, and a snapshot reads the history there;
            # a retry, or a recovery after this process died, adds it where it is missing
            with_answer(session, row)
            for event in said:
                yield event
            if not first_time or durable_event is not None:
                yield await log.publish({"type": "thinking"})
                metrics.TURN_THINKING.observe(time.monotonic() - received)
            plan = plan_reply(session, row.content, get_settings().FOLLOW_UP_MAX_WORDS)
            async for event in self._ai_turn(session, plan, row, lease):
                yield event
        finally:
            await lease.release()

    async def process_message(
        self, interview_id: int, content: str, client_msg_id: str | None = None
    ) -> Event | None:
        """Non-streaming: the finished `stream_end` (None for a repeated message)."""
        final: Event | None = None
        turn = self.stream_process_message(interview_id, content, client_msg_id)
        async with contextlib.aclosing(turn):  # left early: its lease is released now, not at GC
            async for event in turn:
                if event["type"] == "stream_end":
                    final = event
                elif event["type"] == "error":
                    raise AIUnavailableError(event.get("content", "AI unavailable"))
        return final

    async def _save_answer(
        self,
        session: InterviewSession,
        content: str,
        client_msg_id: str | None,
        answer_mode: str,
        on_durable: Callable[[TurnRow], None],
    ) -> tuple[Transcript, bool] | None:
        """Save the answer (`on_durable(row)` once it is durable, before this returns): its row
        and True; a repeat's saved row and False when its reply is to be retried; None when
        it was answered."""
        interview_id = session.interview_id
        seq = await self.hub.log(interview_id).next_seq()
        row = TurnRow(
            interview_id=interview_id,
            seq=seq,
            role=TranscriptRole.CANDIDATE,
            content=content,
            client_msg_id=client_msg_id,
            answer_mode=answer_mode,
        )
        question = (
            session.questions[session.question_index]
            if session.question_index < session.total_questions
            else None
        )
        try:
            # a repeated client_msg_id meets the unique index (no SELECT first: repeats are rare)
            await save_answer(row, question["id"] if question else None, partial(on_durable, row))
        except IntegrityError:
            if not client_msg_id:
                raise
            async with session_factory()() as db:
                existing = (
                    await db.exec(
                        select(InterviewTranscript)
                        .where(InterviewTranscript.interview_id == interview_id)
                        .where(InterviewTranscript.client_msg_id == client_msg_id)
                    )
                ).one()
                return await self._retry_or_skip(db, existing)
        return row, True

    @staticmethod
    async def already_answered(interview_id: int, client_msg_id: str) -> bool:
        """True when the answer `client_msg_id` and its AI turn are both saved: a repeat of
        it changes nothing (checked before a turn starts, so it is silent also meanwhile)."""
        async with autocommit_session() as db:
            answer_id = (
                await db.exec(_ANSWER_ID, params={"id": interview_id, "cid": client_msg_id})
            ).first()
            if answer_id is None:
                return False
            replied = (await db.exec(_REPLY_ID, params={"answer": answer_id})).first()
            return replied is not None

    @staticmethod
    async def _retry_or_skip(
        db: Any, existing: InterviewTranscript
    ) -> tuple[Transcript, bool] | None:
        replied = (await db.exec(_REPLY_ID, params={"answer": existing.id})).first()
        return None if replied is not None else (existing, False)

    async def _ai_turn(
        self,
        session: InterviewSession,
        plan: TurnPlan,
        answer: Transcript | None,
        lease: TurnLease,
    ) -> AsyncIterator[Event]:
        interview_id = session.interview_id
        log = self.hub.log(interview_id)
        stream_id = secrets.token_hex(8)
        kind = plan.kind
        began = time.monotonic()
        yield await log.publish({"type": "stream_start", "stream_id": stream_id, "kind": kind})
        pieces: list[str] = []
        try:
            async for piece in stream_interview_response(_context(session), plan):
                if not piece:
                    continue
                if not pieces:
                    metrics.TURN_FIRST_CHUNK.observe(time.monotonic() - began)
                pieces.append(piece)
                # a piece costs no coroutine of its own while the seq block lasts and the
                # lease is fresh (instructions a token: `bench/instructions.py`)
                seq = log.seq_now()
                if seq is None:
                    seq = await log.next_seq()
                chunk = {
                    "type": "stream_chunk",
                    "stream_id": stream_id,
                    "chunk_index": len(pieces) - 1,
                    "content": piece,
                }
                yield log.publish_now(chunk, seq=seq)
                if lease.refresh_due():
                    await lease.keep_alive()
        except AIUnavailableError as exc:
            logger.warning("interview %s: AI provider failed: %s", interview_id, exc)
            metrics.AI_ERRORS.labels(operation="chat").inc()
            yield await log.publish(
                {
                    "type": "error",
                    "code": "AI_UNAVAILABLE",
                    "content": AI_UNAVAILABLE_TEXT,
                    "stream_id": stream_id,
                }
            )
            return
        text = "".join(pieces)
        is_complete = kind == "closing"
        seq = await log.next_seq()
        row = await self._save_ai_turn(session, plan, answer, stream_id, text, seq)
        if row is None:
            # the interview ended meanwhile, or another process saved this turn first
            # (a recovery racing a slow original): withdraw the partial text, save nothing
            yield await log.publish(
                {
                    "type": "error",
                    "code": "AI_UNAVAILABLE",
                    "content": SUPERSEDED_TEXT,
                    "stream_id": stream_id,
                }
            )
            return
        if plan.question_index is not None:
            session.question_index = plan.question_index
            session.follow_up_used = plan.is_follow_up
        session.greeted = True
        session.closed = is_complete
        session.history.append(history_entry(row))
        # the session saved and the lease given back in one round trip: the next answer may
        # start its turn (on any process)
        async with get_redis().pipeline(transaction=False) as pipe:
            queue_save_session(pipe, session)
            lease.queue_release(pipe)
            saved, released = await pipe.execute(raise_on_error=False)
        if isinstance(saved, Exception):
            raise saved  # the lease: given back (or tried again at the turn's end)
        await lease.released(released)
        yield await log.publish(
            {
                "type": "stream_end",
                "stream_id": stream_id,
                "kind": kind,
                "content": text,
                "question_number": session.total_questions
                if is_complete
                else session.question_number,
                "total_questions": session.total_questions,
                "time_remaining_min": session.time_remaining_min(),
                "is_complete": is_complete,
            },
            seq=seq,
        )
        metrics.TURN_SECONDS.labels(kind=kind).observe(time.monotonic() - began)
        if is_complete and await self._complete(interview_id):
            yield await log.publish({"type": "complete", "content": COMPLETE_TEXT})

    async def _save_ai_turn(
        self,
        session: InterviewSession,
        plan: TurnPlan,
        answer: Transcript | None,
        stream_id: str,
        text: str,
        seq: int,
    ) -> TurnRow | None:
        row = TurnRow(
            interview_id=session.interview_id,
            seq=seq,
            role=TranscriptRole.AI,
            content=text,
            stream_id=stream_id,
            kind=plan.kind,
            reply_to_id=answer.id if answer is not None else None,
            question_index=plan.question_index,
            is_follow_up=plan.is_follow_up,
        )
        try:
            if not await save_ai_turn(row):
                return None  # the interview is no longer in progress
        except IntegrityError:
            logger.info("interview %s: turn already saved elsewhere", session.interview_id)
            return None
        return row


async def run_to_end(events: AsyncIterator[Event]) -> list[Event]:
    """Consume a turn's events (the turn runs whether or not anyone is listening)."""
    return [event async for event in events]


def cancel_quietly(task: asyncio.Task[Any] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
