"""A socket's text frames taken where uvicorn parses them (app/api/v1/ws_arrival.py): while the
reader waits with nothing queued, a frame is handled on arrival, a loop iteration before the
reader would wake (an answer's turn, a `pong`); behind a queued frame it waits for the reader,
so the frames still act in the order they came."""

from __future__ import annotations

from prometheus_client import REGISTRY
from websockets.frames import Frame, Opcode

from app.api.v1.websocket import INBOX_LIMIT, frame_now
from app.api.v1.ws_arrival import hand_frames_to
from app.services.ws_connection_manager import get_manager
from tests.support.factories import make_interview
from tests.support.ws_flow import answer, open_candidate, ping_pong, start


def frames_at(where: str) -> float:
    return REGISTRY.get_sample_value("hireez_ws_frames_total", {"at": where}) or 0.0


async def test_frames_on_an_idle_socket_are_handled_on_arrival_not_by_the_reader(
    db, ws_url, standin
):
    setup = await make_interview(db)
    ws = await open_candidate(ws_url, setup)
    await start(ws)
    on_arrival, by_reader = frames_at("arrival"), frames_at("reader")

    assert await ping_pong(ws) == []
    frames = await answer(ws, cid="arrival-1")
    assert [f["type"] for f in frames][:2] == ["thinking", "stream_start"]
    assert frames[-1]["type"] == "stream_end"

    assert frames_at("arrival") == on_arrival + 2  # the ping and the answer
    assert frames_at("reader") == by_reader
    await ws.close()


async def test_a_frame_behind_a_queued_one_waits_for_the_reader_and_keeps_its_order(
    db, ws_url, standin
):
    """A binary frame always goes to the reader's queue (refused on this socket); a `ping`
    in the same network read comes behind it: queued too, answered after the refusal."""
    setup = await make_interview(db)
    ws = await open_candidate(ws_url, setup)
    await start(ws)
    on_arrival, by_reader = frames_at("arrival"), frames_at("reader")

    both = Frame(Opcode.BINARY, b"\x00").serialize(mask=True) + Frame(
        Opcode.TEXT, b'{"type": "ping"}'
    ).serialize(mask=True)
    ws.conn.transport.write(both)  # one write: both frames in one read of the server's
    frames = await ws.recv_until("pong", timeout=5)
    assert [f["type"] for f in frames] == ["error", "pong"]
    assert frames[0]["code"] == "INVALID_MESSAGE"

    assert frames_at("reader") == by_reader + 1  # the ping, behind the binary frame
    assert frames_at("arrival") == on_arrival
    await ws.close()


async def test_a_busy_reader_or_a_full_inbox_leaves_the_frame_to_the_reader(db, ws_url, standin):
    """Only a reader that waits is overtaken; and its backpressure (INBOX_LIMIT frames
    waiting for their dispatch) holds on arrival too: the frame is left to the reader, with
    nothing done."""
    setup = await make_interview(db)
    ws = await open_candidate(ws_url, setup)
    await start(ws)
    (conn,) = get_manager().local[setup.interview.id]
    assert conn.reader_idle
    conn.reader_idle = False  # the reader busy with a frame: it takes the next one itself
    try:
        assert frame_now(conn, '{"type": "ping"}') is False
    finally:
        conn.reader_idle = True
    conn.inbox.extend(["held"] * (INBOX_LIMIT - 1))
    try:
        assert frame_now(conn, '{"type": "ping"}') is False
    finally:
        del conn.inbox[:]
    assert frame_now(conn, '{"type": "ping"}') is True  # room again: the pong is queued
    assert (await ws.recv_until("pong", timeout=5))[-1]["type"] == "pong"
    await ws.close()


def test_another_server_keeps_the_queue_for_every_frame():
    assert hand_frames_to(object(), lambda text: True) is False
    assert hand_frames_to(None, lambda text: True) is False
