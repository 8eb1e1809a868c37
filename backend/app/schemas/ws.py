"""Client → server WebSocket messages (PROTOCOL.md) as a discriminated union."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1)]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class StartMsg(_Msg):
    type: Literal["start"]


class MessageMsg(_Msg):
    type: Literal["message"]
    content: NonEmpty
    client_msg_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None


class EndMsg(_Msg):
    type: Literal["end"]


class PingMsg(_Msg):
    type: Literal["ping"]


class PongMsg(_Msg):
    type: Literal["pong"]


class ReconnectMsg(_Msg):
    type: Literal["reconnect"]
    last_seq: Annotated[int, Field(ge=0)] | None = None


class AudioMsg(_Msg):
    type: Literal["audio"]
    # a hint only ("webm", "audio/webm;codecs=opus", …): the server reads the container itself
    format: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "webm"
    data: NonEmpty
    client_msg_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None


ClientMessage = Annotated[
    StartMsg | MessageMsg | EndMsg | PingMsg | PongMsg | ReconnectMsg | AudioMsg,
    Field(discriminator="type"),
]
_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
KNOWN_TYPES = ("start", "message", "end", "ping", "pong", "reconnect", "audio")


class InvalidMessage(ValueError):
    """A frame that is not a valid client message; `str()` is safe to send back."""


def parse_client_message(text: str) -> ClientMessage:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidMessage("Message is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidMessage("Message must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in KNOWN_TYPES:
        raise InvalidMessage(f"Unknown message type: {str(kind)[:40]!r}")
    if kind == "message":
        content = data.get("content")
        if not isinstance(content, str):
            raise InvalidMessage("'content' must be a string")
        if not content.strip():
            raise InvalidMessage("'content' must not be empty")
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or kind
        raise InvalidMessage(f"Invalid '{where}': {first['msg']}") from None
