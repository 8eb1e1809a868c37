"""The event log's replay buffer keeps what a resume may need and drops what it never will."""

from __future__ import annotations

from app.services.interview_events import get_hub


async def test_finished_turns_leave_only_their_boundaries_in_the_replay_buffer(app):
    log = get_hub().log(424242)
    await log.begin(db_max_seq=0)
    await log.publish({"type": "stream_start", "stream_id": "s1", "kind": "response"})
    for i in range(5):
        await log.publish(
            {"type": "stream_chunk", "stream_id": "s1", "chunk_index": i, "content": f"w{i} "}
        )
    assert log.pending is not None and log.pending.as_dict()["content"] == "w0 w1 w2 w3 w4 "
    await log.publish({"type": "stream_end", "stream_id": "s1", "content": "w0 w1 w2 w3 w4 "})
    for i in range(3):
        await log.publish({"type": "audio", "stream_id": "s1", "index": i, "data": "x" * 1000})
    kinds = [e["type"] for e in log.recent]
    assert kinds == ["stream_start", "stream_end", "audio", "audio", "audio"]
    await log.publish({"type": "stream_start", "stream_id": "s2", "kind": "response"})
    assert [e["type"] for e in log.recent] == ["stream_start", "stream_end", "stream_start"]
    seqs = [e["seq"] for e in log.recent]
    assert seqs == sorted(seqs) and log.last_seq == seqs[-1]
