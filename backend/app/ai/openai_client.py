"""The one way to reach the model: the `openai` SDK's `AsyncOpenAI`, bounded and with typed errors.

Any OpenAI-compatible server works (OpenAI, Azure, vLLM, Ollama, llama.cpp). Every failure of the
provider (HTTP error, timeout, lost connection, empty reply, a stream that dies) becomes
`AIUnavailableError`; callers never see an `openai` exception.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, cast

import httpx
import openai
import orjson
from openai import AsyncOpenAI, DefaultAioHttpClient

from app.ai.errors import AIUnavailableError
from app.core.config import Settings, get_settings
from app.core.read_gate import read_gate

logger = logging.getLogger(__name__)

# Local servers (vLLM, Ollama, llama.cpp) ignore the key but the SDK insists on one.
LOCAL_SERVER_API_KEY = "not-needed"
# the chat route, relative to the client's base URL (the SDK's own `chat.completions` path)
CHAT_COMPLETIONS_PATH = "/chat/completions"

# The SDK's platform headers (its language and version, the host's OS, CPU architecture, Python
# runtime and version, the async library): telemetry for OpenAI that no server needs. Left out,
# the provider is not told what the host runs, and a request carries 10 headers instead of 17,
# which the SDK and its HTTP stack walk several times a request: ~15 % of the Python calls of a
# turn's request (docs/benchmarks.md, session 23). The SDK's per-request `X-Stainless-Retry-Count`
# and `X-Stainless-Read-Timeout`, which describe the request itself, still go.
PLATFORM_HEADERS = (
    "X-Stainless-Lang",
    "X-Stainless-Package-Version",
    "X-Stainless-OS",
    "X-Stainless-Arch",
    "X-Stainless-Runtime",
    "X-Stainless-Runtime-Version",
    "X-Stainless-Async",
)
_WITHOUT_PLATFORM_HEADERS: dict[str, Any] = {name: openai.Omit() for name in PLATFORM_HEADERS}

_ClientKey = tuple[str | None, str, float, int]
# One client per event loop and configuration: an httpx connection pool must not outlive the loop
# it was made on (Celery tasks and tests run several loops in one process).
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_ClientKey, AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)
_loopless_clients: dict[_ClientKey, AsyncOpenAI] = {}


def _client_key(settings: Settings, audio: bool = False) -> _ClientKey:
    timeouts = (settings.AI_TIMEOUT_SEC, settings.AI_MAX_RETRIES)
    if not audio and settings.llm_provider == "local":
        if not settings.LOCAL_LLM_URL:
            raise AIUnavailableError("LLM_PROVIDER=local but LOCAL_LLM_URL is empty")
        return (settings.LOCAL_LLM_URL, LOCAL_SERVER_API_KEY, *timeouts)
    api_key = settings.OPENAI_API_KEY or (LOCAL_SERVER_API_KEY if settings.OPENAI_BASE_URL else "")
    if not api_key:
        raise AIUnavailableError("no OPENAI_API_KEY or OPENAI_BASE_URL is configured")
    return (settings.OPENAI_BASE_URL, api_key, *timeouts)


def get_openai_client(*, audio: bool = False) -> AsyncOpenAI:
    """The `AsyncOpenAI` client for the current settings (read now), cached per configuration.

    Chat goes to the active LLM provider (the local server with LLM_PROVIDER=local); `audio=True`
    (speech to text, text to speech) always goes to OPENAI_API_KEY / OPENAI_BASE_URL."""
    key = _client_key(get_settings(), audio)
    try:
        cache = _clients.setdefault(asyncio.get_running_loop(), {})
    except RuntimeError:  # no running loop: a sync caller only building the client
        cache = _loopless_clients
    client = cache.get(key)
    if client is None:
        base_url, api_key, timeout, max_retries = key
        client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            # The SDK's documented aiohttp transport: its C parser reads a streamed reply for a
            # fraction of the CPU of the default one (httpx over anyio, with a cancel scope per
            # read), and every model token is one read (`make bench`, docs/benchmarks.md).
            http_client=DefaultAioHttpClient(timeout=timeout),
            default_headers=_WITHOUT_PLATFORM_HEADERS,
        )
        cache[key] = client
    return client


def warm_openai_client() -> bool:
    """Build the chat client for the current settings now (app start-up), so that the first
    AI turn does not: the SDK's client makes a TLS context and imports its HTTP stack on first
    use, ~70 ms of the loop's time during which every socket of the process waits. False
    (nothing built) when no model provider is configured (offline AI)."""
    if get_settings().llm_provider == "offline":
        return False
    try:
        client = get_openai_client()
    except AIUnavailableError:
        return False
    _ = client.chat.completions  # the SDK's resources are made on first access too
    return True


async def close_openai_clients() -> None:
    """Close the clients made on the running loop (app shutdown)."""
    try:
        cache = _clients.pop(asyncio.get_running_loop(), {})
    except RuntimeError:
        cache = {}
    for client in cache.values():
        await client.close()


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    return f"{exc.__class__.__name__}" + (f" (HTTP {status})" if status else "") + f": {exc}"


async def chat_completion(
    messages: list[dict[str, str]],
    *,
    temperature: float = 0.7,
    max_tokens: int | None = None,
    json_mode: bool = False,
) -> str:
    """One chat completion; returns the reply text. Raises AIUnavailableError on any failure."""
    settings = get_settings()
    client = get_openai_client()
    request: dict[str, Any] = {
        "model": settings.llm_model,
        "messages": messages,
        "temperature": temperature,
    }
    if max_tokens is not None:
        request["max_tokens"] = max_tokens
    if json_mode:
        request["response_format"] = {"type": "json_object"}
    try:
        try:
            response = await client.chat.completions.create(**request)
        except openai.BadRequestError:
            if not json_mode:
                raise
            # Some OpenAI-compatible servers reject response_format; the prompt asks for JSON too.
            logger.info("provider refused response_format=json_object; retrying without it")
            request.pop("response_format")
            response = await client.chat.completions.create(**request)
    except openai.OpenAIError as exc:
        raise AIUnavailableError(f"chat completion failed: {_describe(exc)}") from exc
    choices = getattr(response, "choices", None) or []
    content = choices[0].message.content if choices and choices[0].message else None
    if not content or not content.strip():
        raise AIUnavailableError("chat completion returned an empty reply")
    return cast(str, content)


async def chat_completion_stream(
    messages: list[dict[str, str]],
    *,
    temperature: float = 0.7,
    max_tokens: int | None = None,
) -> AsyncGenerator[str, None]:
    """Stream one chat completion as text pieces (empty deltas skipped).

    Raises AIUnavailableError when the request fails, the stream dies part-way, or the whole reply
    is empty; pieces already yielded stay yielded, so the caller drops the partial text.

    The SDK sends the request (auth, retries, timeouts, HTTP errors as exceptions); the body's
    server-sent events are read here with orjson instead of as the SDK's typed chunk objects,
    which cost ~4x the CPU per token (docs/benchmarks.md: the hottest path under load).

    The request goes through the client's `post`, the SDK's documented call for a route by its
    path, with the raw streamed response back: the same request path as
    `chat.completions.create`, without that method's parameter transform, which walked the
    request against the typed parameters (its ~60-model `Literal` hashed several times) for
    ~15 % of the instructions of a whole answer turn (`bench/instructions.py`).
    """
    settings = get_settings()
    client = get_openai_client()
    request: dict[str, Any] = {
        "model": settings.llm_model,
        "messages": messages,
        "temperature": temperature,
        "stream": True,
    }
    if max_tokens is not None:
        request["max_tokens"] = max_tokens
    got_text = False
    watch: _StallWatch | None = None
    try:
        response = await client.post(
            CHAT_COMPLETIONS_PATH, cast_to=httpx.Response, body=request, stream=True
        )
        body, watch = _body(response)
        async with aclosing(response):
            async for batch in _sse_data(body):
                # what one network read brought is one piece: a model stream read late (a
                # busy loop) goes on as one event, not one per token
                piece = "".join(text for data in batch if (text := _delta_text(data)))
                if not piece:
                    continue
                got_text = got_text or bool(piece.strip())
                yield piece
    except openai.OpenAIError as exc:
        raise AIUnavailableError(f"chat completion stream failed: {_describe(exc)}") from exc
    except Exception as exc:
        if not _is_transport_error(exc):
            raise
        # the SDK's typed stream maps these itself; its raw body does not
        raise AIUnavailableError(f"chat completion stream died: {_describe(exc)}") from exc
    finally:
        if watch is not None:
            watch.stop()
    if not got_text:
        raise AIUnavailableError("chat completion stream returned an empty reply")


def _body(response: Any) -> tuple[AsyncIterator[bytes], _StallWatch | None]:
    """A streamed response's body, a network read at a time, and the watch on its read timeout
    that the caller stops when done reading (None: the transport's own timeout applies).

    Through the SDK's aiohttp transport (`DefaultAioHttpClient`, the client's), the body is read
    from aiohttp's response itself: the httpx response above it wraps each read in three
    generators of its own (its raw stream, its decoders and chunker, the transport's adapter),
    ~3.5 µs a model token of a load of 50 streams (docs/benchmarks.md, session 21); and its read
    timeout is checked by a `_StallWatch` instead of aiohttp's timer per read. Any other
    transport, or a body with a content encoding (which only httpx's decoders undo here), goes
    through `aiter_bytes`."""
    bound = getattr(response, "stream", None)
    aiohttp_response = getattr(getattr(bound, "_stream", None), "_aiohttp_response", None)
    content = getattr(aiohttp_response, "content", None)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if content is None or encoding != "identity":
        return cast(AsyncIterator[bytes], response.aiter_bytes()), None
    protocol = getattr(getattr(aiohttp_response, "connection", None), "protocol", None)
    timeout = getattr(protocol, "read_timeout", None)
    watch = None
    if protocol is not None and timeout:
        watch = _StallWatch(content, timeout)
        protocol.read_timeout = None  # (its timer armed by the last read goes at the next)
    return cast(AsyncIterator[bytes], content.iter_any()), watch


class _StallWatch:
    """A model stream's read timeout (the client's `sock_read`, AI_TIMEOUT_SEC), looked at
    `CHECKS` times a timeout instead of re-armed at every network read as aiohttp does: its
    timer cancelled and a new one made per read cost ~3.8 µs a model token
    (docs/benchmarks.md, session 22). No byte for the whole timeout (up to a quarter more)
    fails the read with aiohttp's own `SocketTimeoutError`, as its timer would."""

    CHECKS = 4
    __slots__ = ("_content", "_handle", "_loop", "_quiet", "_seen", "_step")

    def __init__(self, content: Any, timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._content = content
        self._step = timeout / self.CHECKS
        self._seen: int = content.total_bytes
        self._quiet = 0
        self._handle: asyncio.TimerHandle | None = self._loop.call_later(self._step, self._check)

    def _check(self) -> None:
        total = self._content.total_bytes
        if total != self._seen:
            self._seen, self._quiet = total, 0
        else:
            self._quiet += 1
            if self._quiet >= self.CHECKS:  # quiet for `CHECKS` whole steps: the timeout
                self._handle = None
                from aiohttp import SocketTimeoutError  # (the transport's: loaded already)

                self._content.set_exception(
                    SocketTimeoutError("Timeout on reading data from socket")
                )
                return
        self._handle = self._loop.call_later(self._step, self._check)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


async def _sse_data(body: AsyncIterator[bytes]) -> AsyncIterator[list[Any]]:
    """The decoded `data` of the server-sent events in a byte stream, up to `[DONE]` (an
    `error` ends it), as one list per network read that completed any. Lines are split here,
    a whole read at a time and as bytes (orjson reads bytes; a line is decoded only for an
    event's name), rather than by the HTTP client's text and line decoders: a model token is
    one read, and each call here is one a token (`bench/calls.py`). Each read waits its turn
    at the loop's read gate (app/core/read_gate.py): on a busy loop the streams take turns, a
    slice of reads a loop iteration, and what comes meanwhile is read in one go."""
    event: str | None = None
    data: list[bytes] = []
    buf = b""
    gate = read_gate()
    reads = aiter(body)
    while True:
        if (turn := gate.ask()) is not None:
            await turn  # the loop is busy: the streams ahead in line read first
        try:
            chunk = await anext(reads)
        except StopAsyncIteration:
            return
        buf = buf + chunk if buf else chunk
        crlf = b"\r" in buf  # CRLF line ends (a read may end between the two)
        *lines, buf = buf.split(b"\n")
        if crlf:
            lines = [raw.removesuffix(b"\r") for raw in lines]
        batch: list[Any] = []
        failure: str | None = None
        done = False
        for raw in lines:
            if raw:
                if raw[:6] == b"data: ":
                    data.append(raw[6:])
                elif raw[:5] == b"data:":
                    data.append(raw[5:])
                elif raw[:6] == b"event:":
                    event = raw[6:].removeprefix(b" ").decode("utf-8", "replace")
                continue  # (comments, retry:, id: carry no data)
            if not data:  # a blank line ends an event
                event = None
                continue
            text, name = data[0] if len(data) == 1 else b"\n".join(data), event
            event, data = None, []
            if text[:6] == b"[DONE]":
                done = True
                break
            try:
                payload = _loads(text)
            except orjson.JSONDecodeError:
                failure = "chat completion stream sent undecodable data"
                break
            if isinstance(payload, dict) and (payload.get("error") or name == "error"):
                failure = f"chat completion stream died: {str(payload)[:200]}"
                break
            if name is None:
                batch.append(payload)
        if batch:
            yield batch  # what came before a failure or [DONE] in the same read still counts
        if failure is not None:
            raise AIUnavailableError(failure)
        if done:
            return


def _loads(text: bytes) -> Any:
    """An event's JSON; bytes that are not UTF-8 (a server's broken character) read as U+FFFD,
    as a text decoder would, rather than failing the stream."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return orjson.loads(text.decode("utf-8", "replace"))


# the HTTP stack under the SDK (httpx or httpx2, by SDK version): its errors mid-body are the
# provider's failures (timeouts, dropped connections), as the SDK's typed stream treats them
_TRANSPORT_MODULES = frozenset(
    {"httpx", "httpx2", "httpcore", "httpcore2", "h11", "anyio", "aiohttp"}
)


def _is_transport_error(exc: Exception) -> bool:
    module = type(exc).__module__.split(".", 1)[0]
    return module in _TRANSPORT_MODULES or isinstance(exc, OSError | TimeoutError)


def _delta_text(chunk: Any) -> str | None:
    """A chunk's `choices[0].delta.content`; None where any part is missing or of another
    type (a chunk of usage only, a role, a provider's own fields)."""
    try:
        piece = chunk["choices"][0]["delta"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return piece if isinstance(piece, str) else None
