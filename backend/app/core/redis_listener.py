"""A connection subscribed to Redis channels, its messages read one `read_response` each.

redis-py's `PubSub` hands each message through its retry wrapper, its parse and push
handling, its observability hooks and a message dict: ~45 Python calls a message. With
PostgreSQL + Redis a process's listener reads a message per interview per relay window, its
own batches included (~one a model token at load), so that was a fifth of a token's calls
(`bench/calls.py`, docs/benchmarks.md session 23). Here a message is the connection's own
`read_response` and a callback.

What `PubSub` did that this keeps: the connection is redis-py's (the client's URL, auth, TLS,
database, protocol), made from the client's pool settings; after a lost connection it connects
again (every half second while Redis is away) and subscribes to every channel it had; a
subscription is confirmed through `on_subscribed`, also after a reconnect. Messages published
while the connection was away are missed, as with any Redis subscriber.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis_asyncio
import redis.exceptions

logger = logging.getLogger("app.redis_listener")

RECONNECT_DELAY_SEC = 0.5


async def _as_is(response: Any) -> Any:
    return response


class ChannelListener:
    """Subscribe with `subscribe` / `unsubscribe`, read with `run` (a task of its own; it
    returns only when cancelled). `on_message(channel, data)` for each message,
    `on_subscribed(channel)` for each confirmed subscription. The client decodes replies
    (`decode_responses`, as `app.core.redis.create_redis` makes them): channels and data are
    text."""

    def __init__(
        self,
        client: redis_asyncio.Redis,
        on_message: Callable[[str, Any], None],
        on_subscribed: Callable[[str], None],
    ) -> None:
        pool = client.connection_pool
        self._connection: Any = pool.connection_class(**pool.connection_kwargs)
        # redis-py's parser hands each pub/sub message to a handler before returning it, by
        # default one that looks its logger up and logs the message at debug level (~10 calls
        # a message); this one returns it as it is (`PubSub(push_handler_func=...)` sets the
        # same hook)
        set_handler = getattr(self._connection._parser, "set_pubsub_push_handler", None)
        if set_handler is not None:
            set_handler(_as_is)
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self.channels: set[str] = set()
        self._live = False  # connected and subscribed to `channels` (as of the last write)
        self.reconnects = 0  # connections made after a lost one (tests, diagnostics)

    async def connect(self) -> None:
        """Connect now (raises when Redis cannot be reached); `run` would otherwise connect
        first thing, and keep trying."""
        await self._connection.connect()

    async def subscribe(self, *channels: str) -> None:
        """Subscribe (confirmed later through `on_subscribed`). While the connection is away
        the channels are subscribed to when it is back."""
        self.channels.update(channels)
        await self._send("SUBSCRIBE", *channels)

    async def unsubscribe(self, *channels: str) -> None:
        self.channels.difference_update(channels)
        await self._send("UNSUBSCRIBE", *channels)

    async def ping(self) -> None:
        """Write to the connection (its answer is read and skipped): a connection gone dead
        while quiet then fails, and `run` connects again."""
        await self._send("PING")

    async def _send(self, *args: str) -> None:
        if not self._live:
            return  # (`run` subscribes to all of `channels` once connected)
        try:
            # no health check: it would read its PING's answer off a subscribed connection
            await self._connection.send_command(*args, check_health=False)
        except (OSError, redis.exceptions.RedisError):
            logger.warning("redis listener: %s failed; the reader connects again", args[0])

    async def run(self) -> None:
        """Read until cancelled, connecting again after a lost connection. The first failure
        of an outage is logged with its cause, the retries (two a second while Redis is
        away) at debug level, and the connection's return once."""
        connection = self._connection
        connected_before = False
        failing = False
        while True:
            try:
                await connection.connect()
                if connected_before:
                    self.reconnects += 1
                    logger.info("redis listener: connected again")
                connected_before, failing = True, False
                self._live = True  # from here `subscribe` writes itself: none is missed
                if self.channels:
                    await connection.send_command(
                        "SUBSCRIBE", *sorted(self.channels), check_health=False
                    )
                await self._read(connection)
            except asyncio.CancelledError:
                raise
            except Exception:
                if failing:
                    logger.debug("redis listener: still no connection", exc_info=True)
                else:
                    failing = True
                    logger.warning(
                        "redis listener: connection lost; connecting again", exc_info=True
                    )
            self._live = False
            try:
                await connection.disconnect(nowait=True)
            except Exception:  # (already closed)
                logger.debug("redis listener: disconnect failed", exc_info=True)
            await asyncio.sleep(RECONNECT_DELAY_SEC)

    async def _read(self, connection: Any) -> None:
        on_message, on_subscribed = self._on_message, self._on_subscribed
        while True:
            # a blocking read (`inf`: no timeout, so no timer armed per message); `ping`
            # writes now and then instead, which finds a dead connection
            reply = await connection.read_response(timeout=math.inf, push_request=True)
            if not isinstance(reply, list) or len(reply) != 3:
                continue  # (a PING's answer)
            kind = reply[0]
            try:
                if kind == "message":
                    on_message(reply[1], reply[2])
                elif kind == "subscribe":
                    on_subscribed(reply[1])
            except Exception:  # one message's handler, not the connection
                logger.exception("redis listener: handling a %s on %s failed", kind, reply[1])

    async def aclose(self) -> None:
        self._live = False
        await self._connection.disconnect(nowait=True)
