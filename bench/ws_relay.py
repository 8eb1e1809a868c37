"""A second bare relay, built on other parts than bench/bare_relay.py, for a side-by-side run.

bench/bare_relay.py shares HireEz's server stack (uvicorn, Starlette's WebSocket, httpx for
the model); this one shares none of it: the `websockets` library's own asyncio server
(uvloop's loop) and aiohttp's client for the model's stream. The same protocol subset as the
bare relay, at `/ws`: `start` / `message` open one streamed chat completion at the model's
URL, and every token goes out at once as its own `stream_chunk` (`message` first gets
`thinking`); `ping` → `pong`; a `start` or `message` during a turn gets `TURN_IN_PROGRESS`.
No auth, no persistence. `make bench` measures it in place of bench/bare_relay.py with

    BENCH_BARE_CMD='.venv/bin/python bench/ws_relay.py --port {port} --model-url {model_url}' \\
        .venv/bin/python bench/run.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
from typing import Any

import aiohttp
import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

REQUEST = {"model": "standin", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}


class Relay:
    def __init__(self, model_url: str) -> None:
        self.url = model_url.rstrip("/") + "/chat/completions"
        self.http: aiohttp.ClientSession | None = None

    async def tokens(self) -> Any:
        """The model's text pieces, one per server-sent event, as they arrive."""
        assert self.http is not None
        async with self.http.post(self.url, json=REQUEST) as resp:
            resp.raise_for_status()
            buf = b""
            async for chunk in resp.content.iter_any():
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        return
                    choices = orjson.loads(data).get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        yield piece

    async def serve_socket(self, socket: ServerConnection) -> None:
        seq = 0
        turn: asyncio.Task[None] | None = None

        async def send(frame: dict[str, Any]) -> None:
            await socket.send(orjson.dumps(frame).decode())

        async def relay_turn() -> None:
            nonlocal seq
            stream_id = secrets.token_hex(8)
            seq += 1
            await send(
                {"type": "stream_start", "seq": seq, "stream_id": stream_id, "kind": "response"}
            )
            pieces: list[str] = []
            try:
                async for piece in self.tokens():
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
            except aiohttp.ClientError:
                await send({"type": "error", "code": "AI_UNAVAILABLE", "content": "model failed"})
                return
            seq += 1
            await send(
                {
                    "type": "stream_end",
                    "seq": seq,
                    "stream_id": stream_id,
                    "content": "".join(pieces),
                }
            )

        async def run_turn() -> None:
            with contextlib.suppress(ConnectionClosed):  # the client went away
                await relay_turn()

        try:
            async for raw in socket:
                msg = orjson.loads(raw)
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
        except ConnectionClosed:
            pass
        finally:
            if turn is not None:
                turn.cancel()


def only_ws(socket: ServerConnection, request: Request) -> Response | None:
    """Anything but `/ws` gets 404 (the bench's readiness check takes any HTTP answer)."""
    if request.path != "/ws":
        return socket.respond(404, "not found\n")
    return None


async def main(port: int, model_url: str) -> None:
    relay = Relay(model_url)
    connector = aiohttp.TCPConnector(limit=0)  # one model stream per socket, as many as come
    async with aiohttp.ClientSession(connector=connector) as http:
        relay.http = http
        async with serve(
            relay.serve_socket,
            "127.0.0.1",
            port,
            process_request=only_ws,
            compression=None,
            max_queue=None,
        ) as server:
            await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-url", required=True, help="the model's base URL (…/v1)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(main(args.port, args.model_url))
