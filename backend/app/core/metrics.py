"""Prometheus metrics, safe under several worker processes.

With `PROMETHEUS_MULTIPROC_DIR` set (docker-compose sets it; the directory must be empty at
start) every process writes its samples there and `/metrics` aggregates them; without it the
process's own registry is served. Names are documented in the README's runbook.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

WS_CONNECTIONS = Gauge(
    "hireez_ws_connections", "Open interview sockets", ["kind"], multiprocess_mode="livesum"
)
WS_OPENED = Counter("hireez_ws_opened_total", "Accepted interview sockets", ["kind"])
WS_REFUSED = Counter("hireez_ws_refused_total", "Sockets refused at the handshake", ["code"])
WS_CLOSED = Counter("hireez_ws_closed_total", "Closed interview sockets by close code", ["code"])
WS_FRAMES = Counter(
    "hireez_ws_frames_total",
    "Text frames from clients, by where they were handled: on arrival, or by the socket's reader",
    ["at"],
)
WS_RECONNECTS = Counter("hireez_ws_reconnects_total", "`reconnect` requests answered")
TURN_THINKING = Histogram(
    "hireez_turn_thinking_seconds", "Answer received to `thinking` sent", buckets=LATENCY_BUCKETS
)
TURN_FIRST_CHUNK = Histogram(
    "hireez_turn_first_chunk_seconds", "Turn start to its first streamed piece",
    buckets=LATENCY_BUCKETS,
)
TURN_SECONDS = Histogram(
    "hireez_turn_seconds", "Turn start to `stream_end` (saved)", ["kind"], buckets=LATENCY_BUCKETS
)
AI_ERRORS = Counter("hireez_ai_errors_total", "Model provider failures", ["operation"])
TURN_RECOVERIES = Counter(
    "hireez_turn_recoveries_total", "Turns run again after their process died"
)
EVENT_FLUSH_LAG = Histogram(
    "hireez_event_flush_lag_seconds",
    "Oldest event of a flush: published in process to written to Redis",
    buckets=LATENCY_BUCKETS,
)


def render() -> tuple[bytes, str]:
    """The exposition text of every process (multiprocess mode) or of this one."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
