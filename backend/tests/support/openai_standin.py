"""An OpenAI-compatible stand-in server for tests and benchmarks.

Serves `/v1/chat/completions` (plain and SSE-streamed), `/v1/audio/transcriptions`,
`/v1/audio/speech` and `/v1/models` on 127.0.0.1. Tests steer it over HTTP:

    POST /_control  {"mode": "ok"|"fail"|"stall"|"malformed"|"fail_mid_stream"|"gzip",
                     "replies": ["next reply", ...],   # consumed in order, then the default
                     "token_delay": 0.0,                # seconds between streamed pieces
                     "fail_after": 3,                   # fail_mid_stream: pieces before dying
                     "status": 500,                     # fail: the HTTP status
                     "times": null,                     # mode holds this many requests, then "ok"
                     "modes": []}                       # per-request modes such as ["ok", "fail"],
                                                        # used up in order before "mode" applies
                                                        # ("gzip": a stream sent gzip-encoded, as
                                                        # through a compressing proxy)
    POST /_reset
    GET  /_requests   -> every request body received since the last reset (a chat completion's
                         with its header names, lower case); a streamed one
                         also says how its stream ended: "stream": "running" | "done" | "cut"
                         (the client went away before the last event)

Run standalone: `python -m tests.support.openai_standin --port 8001 [--token-delay 0.02]`.

Benchmark mode (`bench/`): `--bench-tokens 100 --bench-rate 50` serves a lean stand-in instead
(asyncio protocol, no framework, so that the fake model costs little CPU next to the server
under test): every streamed chat completion is N tokens at R tokens/s on an absolute schedule,
and each token is `T<microseconds> ` where the number is `time.monotonic_ns() // 1000` at the
moment the token was written to the socket (the last token ends with `?`). CLOCK_MONOTONIC is
system-wide, so a client on the same machine computes the latency from model to receipt.
`GET /_stats` gives tokens and streams served and how late the token timer fired. Plain
completions answer as above (questions, evaluations); `/_control` and `/_reset` are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_REPLY = (
    "Thank you, that is helpful context. Could you walk me through a specific example "
    "and the result it had?"
)
DEFAULT_QUESTIONS = (
    "Tell me about a project you are proud of.",
    "How do you approach debugging a production issue?",
    "Describe how you work with teammates on a code review.",
)


@dataclass
class StandInState:
    mode: str = "ok"
    replies: list[str] = field(default_factory=list)
    token_delay: float = 0.0
    fail_after: int = 3
    status: int = 500
    times: int | None = None
    modes: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def take_mode(self) -> str:
        if self.modes:
            return self.modes.pop(0)
        mode = self.mode
        if self.times is not None:
            self.times -= 1
            if self.times <= 0:
                self.mode, self.times = "ok", None
        return mode


def _default_text(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    joined = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
    lowered = joined.lower()
    # A question-drafting prompt (JSON mode or not) gets questions; an evaluation names its ids.
    if "interview questions" in lowered and "json" in lowered and "question_id" not in joined:
        return json.dumps({"questions": list(DEFAULT_QUESTIONS)})
    wants_json = (body.get("response_format") or {}).get("type") == "json_object" or (
        "json" in joined.lower() and "question_id" in joined
    )
    if wants_json:
        ids = sorted({int(x) for x in re.findall(r"question_id[\"'=: ]+(\d+)", joined)})
        scores = [
            {"question_id": qid, "score": 7, "comment": "Clear answer with an example."}
            for qid in ids
        ]
        return json.dumps(
            {
                "overall_score": 72,
                "recommendation": "hire",
                "summary": "Solid answers with concrete examples.",
                "question_scores": scores,
            }
        )
    return DEFAULT_REPLY


async def _gzipped(events: Any) -> Any:
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # the gzip format
    async for event in events:
        yield packer.compress(event.encode()) + packer.flush(zlib.Z_SYNC_FLUSH)
    yield packer.flush()


def _pieces(text: str) -> list[str]:
    """Split into word-sized pieces that join back to exactly `text`."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


state_default_delay = [0.0]


def build_app(state: StandInState) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def control(request: Request) -> JSONResponse:
        data = await request.json()
        for key in ("mode", "replies", "token_delay", "fail_after", "status", "times", "modes"):
            if key in data:
                setattr(state, key, data[key])
        return JSONResponse({"ok": True})

    async def reset(_: Request) -> JSONResponse:
        fresh = StandInState(token_delay=state_default_delay[0])
        for key in (
            "mode",
            "replies",
            "token_delay",
            "fail_after",
            "status",
            "times",
            "modes",
            "requests",
        ):
            setattr(state, key, getattr(fresh, key))
        return JSONResponse({"ok": True})

    async def requests_seen(_: Request) -> JSONResponse:
        return JSONResponse(state.requests)

    async def models(_: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "standin", "object": "model"}]})

    def _error(status: int) -> JSONResponse:
        return JSONResponse(
            {"error": {"message": "stand-in failure", "type": "server_error", "code": None}},
            status_code=status,
        )

    async def chat(request: Request) -> Response:
        body = await request.json()
        record: dict[str, Any] = {
            "path": "/v1/chat/completions",
            "body": body,
            "headers": sorted(request.headers.keys()),  # names only: no key in a record
        }
        state.requests.append(record)
        mode = state.take_mode()
        if mode == "fail":
            return _error(state.status)
        if mode == "stall":
            await asyncio.sleep(3600)
        text = state.replies.pop(0) if state.replies else _default_text(body)
        if mode == "malformed":
            text = 'Sure! Here you go:\n```json\n{"overall_score": "lots", oops\n```'
        created = int(time.time())
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "chatcmpl-standin",
                    "object": "chat.completion",
                    "created": created,
                    "model": body.get("model", "standin"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )

        async def events() -> Any:
            record["stream"] = "running"
            try:
                async for event in stream_events():
                    yield event
            except BaseException:
                record["stream"] = "cut"
                raise
            record["stream"] = "done"

        async def stream_events() -> Any:
            def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
                payload = {
                    "id": "chatcmpl-standin",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": body.get("model", "standin"),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                return f"data: {json.dumps(payload)}\n\n"

            yield chunk({"role": "assistant", "content": ""})
            for i, piece in enumerate(_pieces(text)):
                if mode == "fail_mid_stream" and i >= state.fail_after:
                    yield 'data: {"error": {"message": "stand-in died mid-stream"}}\n\n'
                    return
                if state.token_delay:
                    await asyncio.sleep(state.token_delay)
                yield chunk({"content": piece})
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        if mode == "gzip":  # as through a compressing proxy: each event flushed as it goes
            return StreamingResponse(
                _gzipped(events()),
                media_type="text/event-stream",
                headers={"content-encoding": "gzip"},
            )
        return StreamingResponse(events(), media_type="text/event-stream")

    async def transcriptions(request: Request) -> Response:
        form = await request.form()
        upload = form.get("file")
        size = len(await upload.read()) if upload is not None and hasattr(upload, "read") else 0
        state.requests.append({"path": "/v1/audio/transcriptions", "bytes": size})
        mode = state.take_mode()
        if mode == "fail":
            return _error(state.status)
        text = state.replies.pop(0) if state.replies else "I have five years of Python experience."
        return JSONResponse({"text": text})

    async def speech(request: Request) -> Response:
        body = await request.json()
        state.requests.append({"path": "/v1/audio/speech", "body": body})
        mode = state.take_mode()
        if mode == "fail":
            return _error(state.status)
        return Response(_silent_wav(0.2), media_type="audio/wav")

    return Starlette(
        routes=[
            Route("/_control", control, methods=["POST"]),
            Route("/_reset", reset, methods=["POST"]),
            Route("/_requests", requests_seen, methods=["GET"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
            Route("/v1/audio/speech", speech, methods=["POST"]),
        ]
    )


def _silent_wav(seconds: float, rate: int = 16000) -> bytes:
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x00\x00" * int(rate * seconds))
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# a handle for tests: the server runs in its own process so a stall never blocks the tests


@dataclass
class StandInHandle:
    base_url: str
    process: subprocess.Popen[bytes]

    def _post(self, path: str, data: dict[str, Any]) -> None:
        root = self.base_url.removesuffix("/v1")
        req = urllib.request.Request(  # noqa: S310 (loopback only)
            root + path,
            data=json.dumps(data).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 (loopback only)
            resp.read()

    def control(self, **settings: Any) -> None:
        self._post("/_control", settings)

    def reset(self) -> None:
        self._post("/_reset", {})

    def requests(self) -> list[dict[str, Any]]:
        root = self.base_url.removesuffix("/v1")
        with urllib.request.urlopen(root + "/_requests", timeout=5) as resp:  # noqa: S310
            data: list[dict[str, Any]] = json.loads(resp.read())
            return data

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_standin_process(token_delay: float = 0.0) -> StandInHandle:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.openai_standin",
            "--port",
            str(port),
            "--token-delay",
            str(token_delay),
        ],
        cwd=backend,
        env={**os.environ, "PYTHONPATH": str(backend)},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/v1/models", timeout=1) as resp:  # noqa: S310
                resp.read()
            return StandInHandle(base_url=base + "/v1", process=proc)
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the OpenAI stand-in exited at start-up") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the OpenAI stand-in did not start within 20 s")


# ---------------------------------------------------------------------------------------------
# benchmark mode: a lean HTTP/1.1 server streaming stamped tokens at a set rate


def stamp_token(index: int, last: bool) -> str:
    """One benchmark token: `T` + the monotonic clock in microseconds (`?` ends the reply)."""
    return f"T{time.monotonic_ns() // 1000}{'?' if last else ' '}"


@dataclass
class BenchStats:
    tokens: int = 0
    streams: int = 0
    requests: int = 0
    late_ms: list[int] = field(default_factory=lambda: [0] * 64)  # histogram, 1 ms buckets

    def late_quantile(self, q: float) -> int:
        total = sum(self.late_ms)
        if not total:
            return 0
        need, seen = q * total, 0
        for ms, count in enumerate(self.late_ms):
            seen += count
            if seen >= need:
                return ms
        return len(self.late_ms) - 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "streams": self.streams,
            "requests": self.requests,
            "late_p50_ms": self.late_quantile(0.5),
            "late_p99_ms": self.late_quantile(0.99),
        }


_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class _BenchProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive, one request at a time (what httpx does)."""

    def __init__(self, tokens: int, rate: float, stats: BenchStats) -> None:
        self.tokens, self.rate, self.stats = tokens, rate, stats
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.streaming = False
        self.timer: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while not self.streaming and self.transport is not None:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].decode("latin-1")
            lines = head.split("\r\n")
            method, path = lines[0].split(" ")[:2]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buf) < head_end + 4 + length:
                return
            body = self.buf[head_end + 4 : head_end + 4 + length]
            self.buf = self.buf[head_end + 4 + length :]
            self.stats.requests += 1
            self.handle(method, path.split("?")[0], body)

    def reply_json(self, data: Any, status: int = 200) -> None:
        payload = json.dumps(data).encode()
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 %d OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (status, len(payload), payload)
        )

    def handle(self, method: str, path: str, body: bytes) -> None:
        if path == "/_stats":
            self.reply_json(self.stats.as_dict())
        elif path in ("/_control", "/_reset"):
            self.reply_json({"ok": True})
        elif path == "/v1/models":
            self.reply_json({"object": "list", "data": [{"id": "standin", "object": "model"}]})
        elif path == "/v1/chat/completions" and method == "POST":
            request = json.loads(body or b"{}")
            if request.get("stream"):
                self.start_stream(str(request.get("model", "standin")))
            else:
                text = _default_text(request)
                self.reply_json(
                    {
                        "id": "chatcmpl-standin",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": request.get("model", "standin"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                )
        else:
            self.reply_json({"error": {"message": "not found"}}, status=404)

    def start_stream(self, model: str) -> None:
        assert self.transport is not None
        self.streaming = True
        self.stats.streams += 1
        head = json.dumps(
            {
                "id": "chatcmpl-standin",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
            }
        )[:-1].encode()
        self.prefix = b"data: " + head + b', "choices": [{"index": 0, "delta": {'
        first = self.prefix + b'"role": "assistant", "content": ""}, "finish_reason": null}]}\n\n'
        self.transport.write(_SSE_HEAD + _http_chunk(first))
        self.sent = 0
        self.due = self.loop.time() + 1 / self.rate
        self.timer = self.loop.call_at(self.due, self.next_token)

    def next_token(self) -> None:
        self.timer = None
        if self.transport is None or self.transport.is_closing():
            return
        now = self.loop.time()
        late = int((now - self.due) * 1000)
        self.stats.late_ms[min(max(late, 0), 63)] += 1
        last = self.sent == self.tokens - 1
        token = stamp_token(self.sent, last)
        event = self.prefix + b'"content": "%s"}, "finish_reason": null}]}\n\n' % token.encode()
        self.sent += 1
        self.stats.tokens += 1
        if not last:
            self.transport.write(_http_chunk(event))
            # an absolute schedule; a timer that fired more than a token late starts afresh
            self.due = max(self.due + 1 / self.rate, now)
            self.timer = self.loop.call_at(self.due, self.next_token)
            return
        stop = self.prefix + b'}, "finish_reason": "stop"}]}\n\n'
        self.transport.write(
            _http_chunk(event) + _http_chunk(stop) + _http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"
        )
        self.streaming = False
        if self.buf:
            self.data_received(b"")


async def serve_bench(host: str, port: int, tokens: int, rate: float) -> None:
    stats = BenchStats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _BenchProtocol(tokens, rate, stats), host, port, backlog=4096
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--bench-tokens", type=int, default=0, help="benchmark mode: N tokens")
    parser.add_argument("--bench-rate", type=float, default=50.0, help="benchmark mode: tokens/s")
    args = parser.parse_args()
    if args.bench_tokens > 0:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(serve_bench(args.host, args.port, args.bench_tokens, args.bench_rate))
        return
    state_default_delay[0] = args.token_delay
    state = StandInState(token_delay=args.token_delay)
    uvicorn.run(build_app(state), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
