"""The server's CPU per step of a socket's life, one step at a time for N sockets.

Each step runs for all N sockets (CONC at a time) before the next begins, and the server's CPU
time (user + system, all its threads) over the step is divided by N: log in, get a ticket, open
the socket (handshake), `start` (the interview's start and its greeting turn) and one answer
(`message` to `stream_end`). The stand-in replies with 2 tokens here, so the start and answer
rows are what a turn costs besides its stream. Unlike the load runs, no step competes with
another for the loop: the figures move with the code, not with the load (docs/benchmarks.md).

    BENCH_ONLY=phases .venv/bin/python bench/run.py   # N = 200; BENCH_QUICK=1 runs it for 10
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import psutil
from websockets.asyncio.client import ClientConnection, connect

STEPS = ("login", "ticket", "handshake", "start", "answer")
REPLY_TOKENS = 2  # the stand-in's reply for this run: a turn's cost, not its stream's
SETTLE_SEC = 0.3  # after a step: the server's work that trails the last reply (saves, flushes)
ANSWER = "I designed our payments service end to end in Python, PostgreSQL and Redis queues."


class Socket:
    def __init__(self, cred: dict[str, Any] | None, index: int) -> None:
        self.cred, self.index = cred, index
        self.token = self.ticket = ""
        self.ws: ClientConnection | None = None


async def _until_stream_end(ws: ClientConnection) -> None:
    async for raw in ws:
        msg = orjson.loads(raw)
        if msg.get("type") == "error":
            raise RuntimeError(f"error frame: {msg.get('code')}")
        if msg.get("type") == "stream_end":
            return
    raise RuntimeError("socket closed before stream_end")


async def measure(
    url: str,
    pid: int,
    creds: list[dict[str, Any]] | None,
    n: int,
    conc: int,
    on_step: Callable[[str, bool], None] | None = None,
    settle: float = SETTLE_SEC,
) -> dict[str, Any]:
    """Server CPU (ms) per socket for each step; `creds` None: the bare relay (no login, no
    ticket). Any failure is counted in `errors` (the step goes on for the other sockets).
    `on_step(name, True)` runs before a step, `on_step(name, False)` once it has settled."""
    proc = psutil.Process(pid)
    base = "ws://" + url.split("://", 1)[1]
    sockets = [Socket(creds[i] if creds else None, i) for i in range(n)]
    errors: list[str] = []
    gate = asyncio.Semaphore(conc)

    def cpu() -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    async with httpx.AsyncClient(timeout=60) as http:

        async def login(s: Socket) -> None:
            assert s.cred is not None
            body = {"email": s.cred["email"], "password": s.cred["password"]}
            resp = await http.post(url + "/api/v1/auth/login", json=body)
            resp.raise_for_status()
            s.token = resp.json()["access_token"]

        async def ticket(s: Socket) -> None:
            assert s.cred is not None
            resp = await http.post(
                url + "/api/v1/auth/ws-ticket",
                json={"interview_id": s.cred["interview_id"]},
                headers={"Authorization": f"Bearer {s.token}"},
            )
            resp.raise_for_status()
            s.ticket = resp.json()["ticket"]

        async def handshake(s: Socket) -> None:
            path = "/ws"
            if s.cred is not None:
                path = f"/api/v1/ws/interview/{s.cred['interview_id']}?token={s.ticket}"
            s.ws = await connect(base + path, compression=None, ping_interval=None)

        async def start(s: Socket) -> None:
            assert s.ws is not None
            await s.ws.send('{"type":"start"}')
            await _until_stream_end(s.ws)

        async def answer(s: Socket) -> None:
            assert s.ws is not None
            frame = {"type": "message", "content": ANSWER, "client_msg_id": f"p{s.index}"}
            await s.ws.send(orjson.dumps(frame).decode())
            await _until_stream_end(s.ws)

        async def step(fn: Callable[[Socket], Awaitable[None]]) -> float:
            async def one(s: Socket) -> None:
                async with gate:
                    try:
                        await fn(s)
                    except Exception as exc:
                        if len(errors) < 20:
                            errors.append(f"{fn.__name__} #{s.index}: {exc!r}"[:300])

            before = cpu()
            await asyncio.gather(*(one(s) for s in sockets))
            await asyncio.sleep(settle)
            return round((cpu() - before) * 1000 / n, 2)

        funcs = {
            "login": login,
            "ticket": ticket,
            "handshake": handshake,
            "start": start,
            "answer": answer,
        }
        ms: dict[str, float | None] = {}
        for name in STEPS:  # the bare relay has no login and no ticket
            bare_skips = creds is None and name in ("login", "ticket")
            if on_step is not None:
                on_step(name, True)
            ms[name] = None if bare_skips else await step(funcs[name])
            if on_step is not None:
                on_step(name, False)
    for s in sockets:
        if s.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.ws.close(), 5)
    return {"n": n, "concurrency": conc, "cpu_ms": ms, "errors": errors, "at": time.time()}
