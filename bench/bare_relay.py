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

`BARE_CLIENT=httpx` (default) reads the SSE stream with httpx and splits it by hand, the lean
way a hand-written relay would; `BARE_CLIENT=openai` reads it through the `openai` SDK, as
HireEz does (to tell the SDK's share of HireEz's cost from the rest).
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
CLIENT = os.environ.get("BARE_CLIENT", "httpx")
REQUEST = {"model": "standin", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}

_http: httpx.AsyncClient | None = None
_openai: Any = None


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global _http, _openai
    limits = httpx.Limits(max_connections=4000, max_keepalive_connections=4000)
    _http = httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits)
    if CLIENT == "openai":
        from openai import AsyncOpenAI

        _openai = AsyncOpenAI(base_url=MODEL_URL, api_key="not-needed", max_retries=0)
    yield
    await _http.aclose()
    if _openai is not None:
        await _openai.close()


app = FastAPI(lifespan=lifespan)


async def httpx_tokens() -> AsyncIterator[str]:
    assert _http is not None
    async with _http.stream("POST", MODEL_URL + "/chat/completions", json=REQUEST) as resp:
        buf = b""
        async for data in resp.aiter_raw():
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


async def openai_tokens() -> AsyncIterator[str]:
    stream = await _openai.chat.completions.create(**REQUEST)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


TOKENS: Callable[[], AsyncIterator[str]] = openai_tokens if CLIENT == "openai" else httpx_tokens


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
