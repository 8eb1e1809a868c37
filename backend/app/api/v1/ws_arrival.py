"""A socket's text frames handed to the app where they arrive, not through its reader's queue.

uvicorn's websockets-sansio protocol parses a client's frames in its `data_received` and puts
each one in a queue that the socket's reader awaits: the reader wakes a loop iteration later,
and under load (`make bench`, K = 250) an iteration is 5-10 ms, the read gate's slice of model
reads queued ahead of it. `hand_frames_to` makes the protocol offer each complete text frame
to a callback first, in `data_received` itself, while its queue is empty (no frame before it
waits for the reader); the callback takes it (True) or leaves it to the queue as before
(False). Any other server or protocol, or an older uvicorn without these attributes, keeps the
queue for every frame.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("app.ws")

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import (
        WebSocketsSansIOProtocol as _Sansio,
    )
except ImportError:  # pragma: no cover - uvicorn without the sansio protocol
    _Sansio = None  # type: ignore[assignment,misc]

# what the hook reads of the protocol, and the method it wraps
_USES = ("frames", "curr_msg_data_type", "close_sent", "queue", "send_receive_event_to_app")


def hand_frames_to(protocol: object, take: Callable[[str], bool]) -> bool:
    """Offer `protocol`'s complete text frames to `take` as they arrive, in the caller's
    context (a copy of it); False when this protocol cannot (frames go to the queue)."""
    if _Sansio is None or not isinstance(protocol, _Sansio):
        return False
    if not all(hasattr(protocol, name) for name in _USES):  # pragma: no cover - another uvicorn
        return False
    sansio: Any = protocol  # its private attributes, checked above
    to_queue = sansio.send_receive_event_to_app
    context = contextvars.copy_context()

    def received() -> None:
        frames = sansio.frames
        if sansio.close_sent or sansio.curr_msg_data_type != "text" or not sansio.queue.empty():
            to_queue()
            return
        try:
            text = (frames[0] if len(frames) == 1 else b"".join(frames)).decode()
        except UnicodeDecodeError:  # the protocol's own handling: close 1007
            to_queue()
            return
        try:
            taken = context.run(take, text)
        except Exception:  # a bug here must not kill the connection's I/O: the reader has it
            logger.exception("a frame handled on arrival failed; queued for the reader")
            taken = False
        if taken:
            sansio.frames = []
        else:
            to_queue()

    sansio.send_receive_event_to_app = received
    return True
