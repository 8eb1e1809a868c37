"""/metrics (Prometheus), request ids, JSON logs that carry ids and never tokens."""

from __future__ import annotations

import asyncio
import logging
import re

import orjson

from app.core import log_context
from app.core.logging import JsonFormatter, RedactQueryFilter
from tests.support.factories import make_interview, token
from tests.support.ws import WSClient


def sample(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)"
    found = re.search("^" + pattern + "$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_metrics_follow_sockets_turns_and_refusals(db, client, ws_url):
    setup = await make_interview(db)
    before = (await client.get("/metrics")).text
    ws = await WSClient.open(
        ws_url(f"/ws/interview/{setup.interview.id}", token(setup.candidate_user))
    )
    await ws.send({"type": "start"})
    await ws.recv_until("stream_end")
    await ws.send(
        {
            "type": "message",
            "content": "I built the billing system in Go and Python",
            "client_msg_id": "m1",
        }
    )
    await ws.recv_until("stream_end")
    await ws.send({"type": "reconnect"})
    await ws.recv_until("reconnected")
    during = (await client.get("/metrics")).text
    assert sample(during, "hireez_ws_connections", kind="candidate") == (
        sample(before, "hireez_ws_connections", kind="candidate") + 1
    )
    assert (
        sample(during, "hireez_ws_reconnects_total")
        == sample(before, "hireez_ws_reconnects_total") + 1
    )
    assert (
        sample(during, "hireez_turn_thinking_seconds_count")
        == sample(before, "hireez_turn_thinking_seconds_count") + 1
    )
    assert sample(during, "hireez_turn_seconds_count", kind="greeting") >= 1
    assert sample(during, "hireez_turn_first_chunk_seconds_count") >= 2
    assert sample(during, "hireez_event_flush_lag_seconds_count") >= 1
    await ws.close()
    refused = await WSClient.open(ws_url(f"/ws/interview/{setup.interview.id}", "nope"))
    assert await refused.expect_close() == 4001
    for _ in range(50):  # the socket's close is counted as it unregisters: wait for both
        after = (await client.get("/metrics")).text
        if (
            sample(after, "hireez_ws_connections", kind="candidate")
            == sample(before, "hireez_ws_connections", kind="candidate")
            and sample(after, "hireez_ws_closed_total", code="1000") >= 1
        ):
            break
        await asyncio.sleep(0.02)
    assert sample(after, "hireez_ws_closed_total", code="1000") >= 1
    assert (
        sample(after, "hireez_ws_refused_total", code="4001")
        == sample(before, "hireez_ws_refused_total", code="4001") + 1
    )


async def test_request_id_is_echoed_or_made(client):
    resp = await client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["x-request-id"] == "abc-123"
    made = (await client.get("/api/v1/health")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", made)


def test_json_log_lines_carry_ids_and_no_tokens():
    secret = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5", f"/api/v1/ws/interview/7?token={secret}"),
        None,
    )
    RedactQueryFilter().filter(record)
    log_context.bind(interview_id=7, request_id="r-1")
    line = orjson.loads(JsonFormatter().format(record))
    assert line["interview_id"] == 7 and line["request_id"] == "r-1"
    assert line["level"] == "INFO" and line["logger"] == "uvicorn.error"
    assert secret not in line["msg"] and "/api/v1/ws/interview/7?[redacted]" in line["msg"]
    assert line["ts"].endswith("Z")
