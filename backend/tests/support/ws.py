"""A real WebSocket client for tests, speaking PROTOCOL.md to a running uvicorn."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]


class WSClient:
    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.received: list[Frame] = []

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> WSClient:
        conn = await websockets.connect(url, open_timeout=10, max_size=None, **kwargs)
        return cls(conn)

    async def send(self, frame: Frame | str | bytes) -> None:
        if isinstance(frame, dict):
            await self.conn.send(json.dumps(frame))
        else:
            await self.conn.send(frame)

    async def recv(self, timeout: float = 10.0) -> Frame:
        raw = await asyncio.wait_for(self.conn.recv(), timeout)
        frame: Frame = json.loads(raw)
        self.received.append(frame)
        return frame

    async def recv_until(
        self, *types: str, timeout: float = 15.0, skip_pings: bool = True
    ) -> list[Frame]:
        """Frames up to and including the first of `types` (server pings answered)."""
        out: list[Frame] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if skip_pings and frame["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            out.append(frame)
            if frame["type"] in types:
                return out

    async def expect_close(self, timeout: float = 10.0) -> int | None:
        """Read until the server closes; the close code it sent."""
        try:
            while True:
                await asyncio.wait_for(self.conn.recv(), timeout)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None

    @property
    def close_code(self) -> int | None:
        return self.conn.close_code

    async def close(self) -> None:
        await self.conn.close()

    async def abort(self) -> None:
        """Drop the connection without a close frame (a network failure)."""
        self.conn.transport.abort()
        await asyncio.sleep(0)


def text_of(frames: list[Frame], stream_id: str) -> str:
    return "".join(
        f["content"] for f in frames if f["type"] == "stream_chunk" and f["stream_id"] == stream_id
    )
