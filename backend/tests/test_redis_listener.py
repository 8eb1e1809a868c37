"""app.core.redis_listener: what the event listener's connection does while Redis is away."""

from __future__ import annotations

import asyncio
import logging
import socket

from app.core.redis import create_redis
from app.core.redis_listener import RECONNECT_DELAY_SEC, ChannelListener


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_outage_is_logged_once_with_its_cause_then_quietly_retried(caplog):
    """Redis out of reach: the listener tries again twice a second. The first failure is a
    warning with its cause; the retries are debug lines, not a traceback each."""
    listener = ChannelListener(
        create_redis(f"redis://127.0.0.1:{_closed_port()}/0"),
        on_message=lambda channel, data: None,
        on_subscribed=lambda channel: None,
    )
    await listener.subscribe("interview:live:0:1")  # kept for when the connection is back
    caplog.set_level(logging.DEBUG, logger="app.redis_listener")
    reader = asyncio.create_task(listener.run())
    try:
        await asyncio.sleep(RECONNECT_DELAY_SEC * 4.5)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    mine = [r for r in caplog.records if r.name == "app.redis_listener"]
    warnings = [r for r in mine if r.levelno >= logging.WARNING]
    retries = [r for r in mine if r.levelno == logging.DEBUG]
    assert len(warnings) == 1 and warnings[0].exc_info is not None
    assert len(retries) >= 3
    assert listener.channels == {"interview:live:0:1"} and listener.reconnects == 0
