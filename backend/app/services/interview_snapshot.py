"""The `reconnected` message: the whole durable state of an interview, consistent with the
live events a socket gets after it (PROTOCOL.md, `reconnected`)."""

from __future__ import annotations

from typing import Any

from app.core.database import autocommit
from app.models import InterviewStatus
from app.services.interview_events import Subscriber, get_hub
from app.services.interview_session import history_entry, load_session
from app.services.turn_saves import INTERVIEW_STATUS, saved_turns


async def build_snapshot(interview_id: int, sub: Subscriber) -> dict[str, Any]:
    """Compose `reconnected` and re-aim `sub` so it then gets exactly the events after it."""
    hub = get_hub()
    log = hub.log(interview_id)
    epoch = await hub.ensure_epoch(interview_id)
    log.switch_epoch(epoch)
    sub.snapshot_due = False  # this snapshot is the one an epoch switch would ask for
    shared_last, shared_pending, shared_epoch = await hub.shared_state(interview_id)
    if shared_epoch != epoch:
        shared_last, shared_pending = 0, None
    # Synchronous from here to reset_to(): no event can slip between the two.
    if log.pending_known and log.last_seq >= shared_last:
        last_seq = log.last_seq
        pending = log.pending.as_dict() if log.pending else None
    else:
        last_seq, pending = shared_last, shared_pending
    sub.reset_to(last_seq, list(log.recent))
    # Rows saved after that point are in history too; their live events follow and the
    # client replaces by stream_id, so nothing shows twice.
    session = await load_session(interview_id)
    async with autocommit() as conn:  # plain values: a reconnect storm reads every transcript
        raw_status = (await conn.execute(INTERVIEW_STATUS, {"id": interview_id})).scalar()
        rows = await saved_turns(conn, interview_id)
    history = [history_entry(r) for r in rows]
    if pending is not None and any(h.get("stream_id") == pending["stream_id"] for h in history):
        pending = None
    status = InterviewStatus(raw_status).value if raw_status is not None else "cancelled"
    question_index = session.question_index if session else 0
    total = session.total_questions if session else 0
    return {
        "type": "reconnected",
        "status": status,
        "conversation_history": history,
        "current_question": question_index,
        "question_number": session.question_number if session else 0,
        "total_questions": total,
        "time_remaining_min": session.time_remaining_min() if session else 0,
        "pending_stream": pending,
        "last_seq": last_seq,
        "epoch": epoch,
    }
