"""A socket's writer starts in the caller's task (`Connection.wake_writer`): `thinking`,
`pong`, a turn's start, pieces and end go out at once instead of a loop iteration later, in a
task of their own (under load an iteration is tens of ms: `make bench`). Only a writer that
has to wait (a socket that cannot take more yet, a snapshot) goes on in a task, and what comes
meanwhile waits behind it: a lagging socket's pieces merge into one frame. Driven through
Starlette's WebSocket over a hand-made ASGI pair: what the server sends, and when, is exactly
observable."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.websockets import WebSocket

from app.api.v1.websocket import read_until_closed, write_pending
from app.services.ws_connection_manager import Connection


class Peer:
    """The client's side of one socket: frames in, frames the server sent out."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.gone = False  # the client has dropped: every send fails
        self.full: asyncio.Event | None = None  # set: a send waits until it is set (lagging)

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send(self, message: dict[str, Any]) -> None:
        if self.gone:
            raise OSError("the client is gone")
        if self.full is not None:
            await self.full.wait()
        if message["type"] == "websocket.send":
            self.sent.append(orjson.loads(message["text"]))

    def frames(self) -> list[str]:
        return [frame["type"] for frame in self.sent]


async def connection(peer: Peer) -> Connection:
    scope = {"type": "websocket", "path": "/", "headers": [], "query_string": b""}
    ws = WebSocket(scope, peer.receive, peer.send)
    peer.inbox.put_nowait({"type": "websocket.connect"})
    await ws.accept()
    return Connection(ws, 1, 1, observer=False, write=write_pending, asgi_send=peer.send)


def chunk(seq: int, content: str) -> dict[str, Any]:
    return {
        "type": "stream_chunk",
        "seq": seq,
        "stream_id": "s1",
        "content": content,
        "chunk_index": seq,
    }


async def test_thinking_and_pong_go_out_in_the_callers_step():
    peer = Peer()
    conn = await connection(peer)
    conn.sub.push({"type": "thinking", "seq": 1})
    assert peer.frames() == ["thinking"]  # sent before this test awaited anything
    assert conn.writer is None  # no task was needed
    conn.sub.push_control({"type": "pong"})
    assert peer.frames() == ["thinking", "pong"]


async def test_pieces_go_out_in_the_callers_step():
    peer = Peer()
    conn = await connection(peer)
    conn.sub.push(chunk(2, "Hel"))
    assert peer.sent == [chunk(2, "Hel")]  # sent before this test awaited anything
    assert conn.writer is None
    conn.sub.push(chunk(3, "lo"))
    assert peer.sent == [chunk(2, "Hel"), chunk(3, "lo")]


async def test_a_lagging_sockets_pieces_wait_for_it_and_go_out_merged_in_order():
    """A send that cannot go out yet (the client's window is full) moves the writer to a task;
    what comes meanwhile waits behind it, never ahead, and the pieces merge into one frame."""
    peer = Peer()
    conn = await connection(peer)
    peer.full = asyncio.Event()
    conn.sub.push(chunk(2, "Well, "))
    assert conn.writer is not None  # waiting for the client
    for seq, word in enumerate(["Hel", "lo ", "there"], start=3):
        conn.sub.push(chunk(seq, word))
    conn.sub.push({"type": "stream_end", "seq": 6, "stream_id": "s1", "content": "Bye"})
    await asyncio.sleep(0)
    assert peer.sent == []
    peer.full.set()
    await conn.writer
    assert peer.sent[:2] == [chunk(2, "Well, "), chunk(5, "Hello there")]
    assert peer.frames() == ["stream_chunk", "stream_chunk", "stream_end"]


async def test_a_send_that_fails_in_the_readers_own_task_ends_the_read_cleanly():
    """The client drops while its `ping` is answered: the writer, running in the reader's
    task, ends the socket; the read stops before its next receive, and no cancellation is
    left pending on that task (it surfaced at the socket's clean-up, when the next frame,
    already there, let the read end without waiting)."""
    peer = Peer()
    conn = await connection(peer)
    peer.gone = True
    peer.inbox.put_nowait({"type": "websocket.receive", "text": '{"type": "ping"}'})
    peer.inbox.put_nowait({"type": "websocket.disconnect", "code": 1006})
    await asyncio.wait_for(read_until_closed(conn), 2)
    assert conn.write_ended
    me = asyncio.current_task()
    assert me is not None and me.cancelling() == 0
    await asyncio.sleep(0)  # would raise CancelledError with a cancellation pending
    assert peer.inbox.qsize() == 1  # the read stopped before the next frame


async def test_while_a_writer_task_is_due_a_new_frame_waits_for_it():
    """A snapshot reads the database: its writer is always a task; a `thinking` that comes
    meanwhile goes out after the snapshot, from that task, never before it."""
    peer = Peer()
    conn = await connection(peer)
    conn.sub.request_snapshot()
    assert conn.writer is not None
    conn.sub.push({"type": "thinking", "seq": 1})
    assert peer.sent == []
    conn.writer.cancel()
