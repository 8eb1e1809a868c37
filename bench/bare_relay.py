"""The bare relay: the floor HireEz is measured against.

A minimal FastAPI app on uvicorn (websockets-sansio, uvloop, httptools, orjson frames, no
per-message deflate) that relays the same fake model stream as HireEz: one socket per
candidate, `start` / `message` open one streamed chat completion at the stand-in, and every
token goes out as its own `stream_chunk` frame the moment it is parsed (a per-token relay, no
merging). No auth, no persistence, no event log, no Redis. It speaks the subset of
PROTOCOL.md the load generator uses: `thinking`, `stream_start`, `stream_chunk`, `stream_end`,
`ping` → `pong`.

    BARE_MODEL_URL=http://127.0.0.1:8001/v1 python -m uvicorn bare_relay:app --app-dir bench \\
        --ws websockets-sansio --loop uvloop --http httptools --ws-per-message-deflate false

`BARE_CLIENT=aiohttp` (default) reads the SSE stream with aiohttp's client and splits it by
hand, as HireEz reads its model (the SDK's aiohttp transport); `BARE_CLIENT=httpx` with httpx
instead, which until session 20 was the default and cost the relay 2.2x the CPU per token at
K = 100 (171.6 against 76.7 µs on the AMD host: docs/benchmarks.md, "Session 20"), so every
ratio to it before then flattered HireEz; `BARE_CLIENT=openai` through the `openai` SDK's
typed stream (to tell the SDK's share of a relay's cost).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

MODEL_URL = os.environ.get("BARE_MODEL_URL", "http://127.0.0.1:8001/v1").rstrip("/")
CLIENT = os.environ.get("BARE_CLIENT", "aiohttp")
REQUEST = {"model": "standin", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}

_client: Any = None  # the model's client, the one BARE_CLIENT names (built by the lifespan)


def _open_client() -> Any:
    if CLIENT == "aiohttp":
        import aiohttp

        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    if CLIENT == "openai":
        from openai import AsyncOpenAI

        return AsyncOpenAI(base_url=MODEL_URL, api_key="not-needed", max_retries=0)
    limits = httpx.Limits(max_connections=4000, max_keepalive_connections=4000)
    return httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global _client
    async with _open_client() as _client:  # each of the three closes itself so
        yield


app = FastAPI(lifespan=lifespan)


async def sse_pieces(body: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The text pieces of a streamed completion's server-sent events, split by hand."""
    buf = b""
    async for data in body:
        buf += data
        while (end := buf.find(b"\n\n")) >= 0:
            line, buf = buf[:end], buf[end + 2 :]
            if not line.startswith(b"data: "):
                continue
            payload = line[6:]
            if payload == b"[DONE]":
                return
            choices = orjson.loads(payload)["choices"]
            piece = choices[0]["delta"].get("content") if choices else None
            if piece:
                yield piece


async def aiohttp_tokens() -> AsyncIterator[str]:
    async with _client.post(MODEL_URL + "/chat/completions", json=REQUEST) as resp:
        async for piece in sse_pieces(resp.content.iter_any()):
            yield piece


async def httpx_tokens() -> AsyncIterator[str]:
    async with _client.stream("POST", MODEL_URL + "/chat/completions", json=REQUEST) as resp:
        async for piece in sse_pieces(resp.aiter_raw()):
            yield piece


async def openai_tokens() -> AsyncIterator[str]:
    stream = await _client.chat.completions.create(**REQUEST)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


CLIENTS: dict[str, Callable[[], AsyncIterator[str]]] = {
    "aiohttp": aiohttp_tokens,
    "httpx": httpx_tokens,
    "openai": openai_tokens,
}
if CLIENT not in CLIENTS:
    raise SystemExit(f"BARE_CLIENT={CLIENT!r}: one of {', '.join(CLIENTS)}")
TOKENS = CLIENTS[CLIENT]


@app.websocket("/ws")
async def relay(websocket: WebSocket) -> None:
    await websocket.accept()
    seq = 0
    turn: asyncio.Task[None] | None = None

    async def send(frame: dict[str, Any]) -> None:
        await websocket.send_text(orjson.dumps(frame).decode())

    async def run_turn() -> None:
        with contextlib.suppress(RuntimeError, OSError):  # the client went away
            try:
                await relay_turn()
            except httpx.HTTPError:
                await send({"type": "error", "code": "AI_UNAVAILABLE", "content": "model failed"})

    async def relay_turn() -> None:
        nonlocal seq
        stream_id = secrets.token_hex(8)
        seq += 1
        await send({"type": "stream_start", "seq": seq, "stream_id": stream_id, "kind": "response"})
        pieces: list[str] = []
        async for piece in TOKENS():
            pieces.append(piece)
            seq += 1
            await send(
                {
                    "type": "stream_chunk",
                    "seq": seq,
                    "stream_id": stream_id,
                    "chunk_index": len(pieces) - 1,
                    "content": piece,
                }
            )
        seq += 1
        await send(
            {"type": "stream_end", "seq": seq, "stream_id": stream_id, "content": "".join(pieces)}
        )

    try:
        while True:
            msg = orjson.loads(await websocket.receive_text())
            kind = msg.get("type")
            if kind == "ping":
                await send({"type": "pong"})
            elif kind in ("start", "message"):
                if turn is not None and not turn.done():
                    await send({"type": "error", "code": "TURN_IN_PROGRESS", "content": "wait"})
                    continue
                if kind == "message":
                    seq += 1
                    await send({"type": "thinking", "seq": seq})
                turn = asyncio.create_task(run_turn())
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away (a send after its close raises RuntimeError / OSError)
    finally:
        if turn is not None:
            turn.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await turn
