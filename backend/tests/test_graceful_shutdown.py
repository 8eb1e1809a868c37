"""SIGTERM: sockets are closed with 1012 (clients reconnect elsewhere) and the turn that was
streaming is finished and saved before the process exits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.support.factories import make_interview, token
from tests.support.ws import WSClient
from tests.support.ws_flow import ai_rows, long_reply

BACKEND = Path(__file__).resolve().parents[1]


async def test_sigterm_closes_1012_and_finishes_the_turn(db, standin):
    setup = await make_interview(db)
    iid = setup.interview.id
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--port",
            str(port),
            "--ws",
            "websockets-sansio",
        ],
        cwd=BACKEND,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        reply = long_reply(40)
        standin.control(replies=[reply], token_delay=0.03)
        url = f"ws://127.0.0.1:{port}/api/v1/ws/interview/{iid}?token={token(setup.candidate_user)}"
        ws = await WSClient.open(url)
        await ws.send({"type": "start"})
        await ws.recv_until("stream_chunk")
        proc.send_signal(signal.SIGTERM)
        assert await ws.expect_close() == 1012
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = await ai_rows(iid)
    assert len(rows) == 1 and rows[0].content.startswith(reply)  # finished, saved once
