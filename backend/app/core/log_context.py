"""Per-request / per-socket log context (request id, interview id) via contextvars.

Tasks started while a context is bound (a socket's reader, writer, heartbeat and the turns
they start) inherit it, so every log line of that work carries the ids."""

from __future__ import annotations

from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_interview_id: ContextVar[int | None] = ContextVar("interview_id", default=None)


def bind(*, request_id: str | None = None, interview_id: int | None = None) -> None:
    if request_id is not None:
        _request_id.set(request_id)
    if interview_id is not None:
        _interview_id.set(interview_id)


def current() -> dict[str, object]:
    out: dict[str, object] = {}
    rid, iid = _request_id.get(), _interview_id.get()
    if rid is not None:
        out["request_id"] = rid
    if iid is not None:
        out["interview_id"] = iid
    return out
