"""A turn whose process died is detected through its lease and run again, saved once."""

from __future__ import annotations

import orjson
from sqlmodel import col, select

from app.core.database import session_factory
from app.core.redis import get_redis
from app.models import InterviewTranscript, TranscriptRole
from app.services.interview_conductor_service import InterviewConductorService, turn_key
from app.services.interview_events import get_hub, state_key
from app.services.interview_session import load_session
from tests.support.factories import make_interview, token
from tests.support.ws import WSClient

ANSWER = "I led the move of our billing jobs to a queue, cutting failures by half"
DEAD = "deadbeef0000"  # a process id with no `process:alive:` key


async def rows_of(interview_id: int) -> list[InterviewTranscript]:
    async with session_factory()() as db:
        result = await db.exec(
            select(InterviewTranscript)
            .where(InterviewTranscript.interview_id == interview_id)
            .order_by(col(InterviewTranscript.seq))
        )
        return list(result.all())


async def leave_a_dead_turn(db) -> tuple[int, str]:
    """What a process killed mid-reply leaves: the answer saved, a lease, a half-sent stream."""
    setup = await make_interview(db)
    iid = setup.interview.id
    conductor = InterviewConductorService()
    await conductor.start_interview(iid)
    [e async for e in conductor.stream_greeting(iid)]
    log = get_hub().log(iid)
    seq = await log.next_seq()
    async with session_factory()() as s:
        s.add(
            InterviewTranscript(
                interview_id=iid,
                seq=seq,
                role=TranscriptRole.CANDIDATE,
                content=ANSWER,
                client_msg_id="c1",
            )
        )
        await s.commit()
    await get_hub().flushed()  # the greeting's state is out before the dead process writes
    redis = get_redis()
    await redis.set(turn_key(iid), f"{DEAD}:0001", ex=30)
    pending = {
        "stream_id": "stale0001",
        "kind": "response",
        "content": "Thanks, that",
        "chunk_index": 1,
    }
    await redis.hset(
        state_key(iid),
        mapping={
            "last_seq": str(seq + 3),
            "epoch": log.epoch or "",
            "pending": orjson.dumps(pending),
        },
    )
    await get_hub().forget_all()  # this process knew nothing of the dead one's stream
    return iid, token(setup.candidate_user)


async def test_a_reconnect_recovers_the_dead_processes_turn(db, ws_url):
    iid, tok = await leave_a_dead_turn(db)
    ws = await WSClient.open(ws_url(f"/ws/interview/{iid}", tok))
    await ws.send({"type": "reconnect"})
    snap = await ws.recv()
    assert snap["type"] == "reconnected"
    assert snap["pending_stream"]["stream_id"] == "stale0001"
    frames = await ws.recv_until("stream_end", timeout=15)
    kinds = [f["type"] for f in frames]
    assert frames[0] == {
        "type": "error",
        "code": "AI_UNAVAILABLE",
        "stream_id": "stale0001",
        "content": frames[0]["content"],
    }
    assert kinds[1:3] == ["thinking", "stream_start"] and kinds[-1] == "stream_end"
    assert all(f["seq"] > snap["last_seq"] for f in frames if "seq" in f)
    rows = await rows_of(iid)
    replies = [r for r in rows if r.role == TranscriptRole.AI and r.reply_to_id is not None]
    assert len(replies) == 1 and replies[0].stream_id == frames[-1]["stream_id"]
    assert await get_redis().get(turn_key(iid)) is None  # released
    # the dead process never cached the answer in the session: the recovery added it, so the
    # next prompt has the whole conversation (the greeting, the answer, the reply)
    session = await load_session(iid)
    assert session is not None and [h["id"] for h in session.history] == [r.id for r in rows]
    await ws.close()


async def test_a_live_holder_is_left_alone(db, ws_url):
    iid, tok = await leave_a_dead_turn(db)
    redis = get_redis()
    await redis.set(f"process:alive:{DEAD}", "1", ex=30)  # it is alive after all
    ws = await WSClient.open(ws_url(f"/ws/interview/{iid}", tok))
    await ws.send({"type": "reconnect"})
    await ws.recv()
    frames = []
    await ws.send({"type": "ping"})
    frames = await ws.recv_until("pong", timeout=5)
    await redis.delete(f"process:alive:{DEAD}")  # ...until it dies
    frames = await ws.recv_until("stream_end", timeout=15)
    assert frames[0]["type"] == "error" and frames[0]["stream_id"] == "stale0001"
    replies = [r for r in await rows_of(iid) if r.reply_to_id is not None]
    assert len(replies) == 1
    await ws.close()


async def test_a_new_message_takes_over_a_dead_lease(db):
    iid, _ = await leave_a_dead_turn(db)
    conductor = InterviewConductorService()
    events = [e async for e in conductor.stream_process_message(iid, ANSWER, "c2")]
    assert events[-1]["type"] == "stream_end"
