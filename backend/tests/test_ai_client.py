"""app.ai.openai_client through the real openai SDK against the stand-in server."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing

import aiohttp
import httpx
import pytest

from app.ai.errors import AIUnavailableError
from app.ai.openai_client import (
    CHAT_COMPLETIONS_PATH,
    LOCAL_SERVER_API_KEY,
    PLATFORM_HEADERS,
    _body,
    _delta_text,
    _sse_data,
    chat_completion,
    chat_completion_stream,
    get_openai_client,
)
from app.core.config import get_settings

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say something."},
]
REPLY = "The quick brown fox jumps over the lazy dog. Does it?"


async def collect(stream) -> list[str]:
    return [piece async for piece in stream]


async def test_plain_completion_returns_the_reply_and_sends_the_model(standin, settings_env):
    settings_env(LLM_MODEL="standin-model-x")
    standin.control(replies=[REPLY])
    text = await chat_completion(MESSAGES, temperature=0.3, max_tokens=77)
    assert text == REPLY
    [request] = standin.requests()
    body = request["body"]
    assert body["model"] == "standin-model-x"
    assert body["messages"] == MESSAGES
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 77
    assert "response_format" not in body
    assert not body.get("stream")


async def test_requests_leave_out_the_sdks_platform_headers(standin):
    """The SDK's telemetry of the host (OS, architecture, runtime and versions) is not sent,
    nor any other `X-Stainless-*` header a newer SDK may add; the key, the user agent and the
    request's own retry count and read timeout are."""
    standin.control(replies=[REPLY, REPLY])
    await collect(chat_completion_stream(MESSAGES))
    await chat_completion(MESSAGES)
    per_request = {"x-stainless-retry-count", "x-stainless-read-timeout"}
    requests = standin.requests()
    assert len(requests) == 2
    for request in requests:
        names = set(request["headers"])
        assert {"authorization", "user-agent", "content-type", *per_request} <= names
        assert not {name.lower() for name in PLATFORM_HEADERS} & names
        assert {name for name in names if name.startswith("x-stainless-")} == per_request


async def test_json_mode_asks_for_a_json_object(standin):
    standin.control(replies=['{"ok": true}'])
    assert await chat_completion(MESSAGES, json_mode=True) == '{"ok": true}'
    assert standin.requests()[0]["body"]["response_format"] == {"type": "json_object"}


async def test_stream_yields_pieces_that_join_to_the_reply(standin, settings_env):
    settings_env(LLM_MODEL="standin-model-y")
    standin.control(replies=[REPLY])
    pieces = await collect(chat_completion_stream(MESSAGES, temperature=0.4, max_tokens=55))
    # sent at once, the words may come in fewer network reads: one piece per read
    assert 1 <= len(pieces) <= len(REPLY.split())
    assert all(pieces)
    assert "".join(pieces) == REPLY
    body = standin.requests()[0]["body"]
    assert body["stream"] is True
    assert body["messages"] == MESSAGES  # the whole history, as given (sent untransformed)
    assert body["model"] == "standin-model-y"
    assert body["temperature"] == 0.4
    assert body["max_tokens"] == 55
    assert standin.requests()[0]["path"] == "/v1/chat/completions"


async def test_stream_pieces_arrive_as_the_model_produces_them(standin):
    standin.control(replies=["one two three four five six"], token_delay=0.1)
    start = time.monotonic()
    arrivals = [time.monotonic() - start async for _ in chat_completion_stream(MESSAGES)]
    assert len(arrivals) == 6
    assert arrivals[0] < 0.35  # the first word is not held back until the end
    assert arrivals[-1] - arrivals[0] >= 0.4


@pytest.mark.parametrize("status", [500, 429, 401])
async def test_provider_error_becomes_ai_unavailable(standin, status):
    standin.control(mode="fail", status=status)
    with pytest.raises(AIUnavailableError):
        await chat_completion(MESSAGES)
    standin.control(mode="fail", status=status)
    with pytest.raises(AIUnavailableError):
        await collect(chat_completion_stream(MESSAGES))


async def test_a_stalled_provider_times_out_as_ai_unavailable(standin, settings_env):
    settings_env(AI_TIMEOUT_SEC="0.5")
    standin.control(mode="stall")
    start = time.monotonic()
    with pytest.raises(AIUnavailableError):
        await chat_completion(MESSAGES)
    assert time.monotonic() - start < 3
    standin.control(mode="stall")
    start = time.monotonic()
    with pytest.raises(AIUnavailableError):
        await collect(chat_completion_stream(MESSAGES))
    assert time.monotonic() - start < 3


async def test_a_stream_that_stalls_midway_times_out(standin, settings_env):
    settings_env(AI_TIMEOUT_SEC="0.5")
    standin.control(replies=["alpha beta gamma"], token_delay=2.0)
    start = time.monotonic()
    with pytest.raises(AIUnavailableError):
        await collect(chat_completion_stream(MESSAGES))
    assert time.monotonic() - start < 3


async def test_a_steady_stream_longer_than_the_read_timeout_is_not_cut(standin, settings_env):
    """The read timeout is the longest quiet between network reads, not the stream's length
    (the stall watch of a stream counts bytes, not time since it began)."""
    settings_env(AI_TIMEOUT_SEC="0.4")
    words = "one two three four five six seven eight nine ten"
    standin.control(replies=[words], token_delay=0.15)  # ~1.5 s in all, 0.15 s between reads
    assert "".join(await collect(chat_completion_stream(MESSAGES))) == words


async def test_a_stream_arms_no_timer_per_network_read(standin, monkeypatch):
    """aiohttp's read timeout cancels its timer and makes a new one at every network read
    (~3.8 µs a model token, `make bench`); the model stream's is a `_StallWatch`, a timer a
    quarter timeout. Counted: aiohttp's reschedules that armed a timer, during a stream of
    ~40 reads."""
    armed: list[float] = []
    reschedule = aiohttp.client_proto.ResponseHandler._reschedule_timeout

    def counting(self: aiohttp.client_proto.ResponseHandler) -> None:
        reschedule(self)
        if self._read_timeout_handle is not None:
            armed.append(time.monotonic())

    monkeypatch.setattr(aiohttp.client_proto.ResponseHandler, "_reschedule_timeout", counting)
    words = " ".join(f"w{i}" for i in range(40))
    standin.control(replies=[words], token_delay=0.005)
    assert "".join(await collect(chat_completion_stream(MESSAGES))) == words
    assert 0 < len(armed) <= 3, len(armed)  # the request's and the headers' reads


@pytest.mark.parametrize(
    "chunk",
    [
        None,
        "text",
        ["choices"],
        {},
        {"choices": None},
        {"choices": []},
        {"choices": {"0": {}}},
        {"choices": ["delta"]},
        {"choices": [[{"delta": {"content": "x"}}]]},
        {"choices": [{"delta": "content"}]},
        {"choices": [{"delta": {"role": "assistant"}}]},
        {"choices": [{"delta": {"content": None}}]},
        {"choices": [{"delta": {"content": 7}}]},
        {"choices": [{"finish_reason": "stop"}]},
    ],
)
def test_a_chunk_without_text_gives_none(chunk):
    assert _delta_text(chunk) is None


def test_a_chunk_with_text_gives_it():
    assert _delta_text({"choices": [{"delta": {"content": "hi"}, "index": 0}]}) == "hi"
    assert _delta_text({"choices": [{"delta": {"content": ""}}]}) == ""


async def test_a_stream_that_dies_midway_raises_after_the_pieces_so_far(standin):
    standin.control(mode="fail_mid_stream", fail_after=3, replies=[REPLY])
    received: list[str] = []
    with pytest.raises(AIUnavailableError):
        async for piece in chat_completion_stream(MESSAGES):
            received.append(piece)
    assert "".join(received) == "The quick brown "


async def test_an_empty_reply_is_unavailable(standin):
    standin.control(replies=["", "   "])
    with pytest.raises(AIUnavailableError):
        await chat_completion(MESSAGES)
    with pytest.raises(AIUnavailableError):
        await collect(chat_completion_stream(MESSAGES))


async def test_retries_follow_ai_max_retries(standin, settings_env):
    settings_env(AI_MAX_RETRIES="1")
    standin.control(mode="fail", status=500, times=1)
    assert await chat_completion(MESSAGES)  # the SDK retried once and got the default reply
    assert len(standin.requests()) == 2
    standin.control(mode="fail", status=500, times=1)
    assert "".join(await collect(chat_completion_stream(MESSAGES)))  # the stream's too
    assert len(standin.requests()) == 4


async def test_a_stream_left_early_closes_its_response(standin):
    """A caller that stops reading (a socket gone, a turn cancelled) closes the response at
    once: the model's server sees the client go, rather than streaming to the end into a
    connection nobody reads."""
    words = "one two three four five six seven eight"
    standin.control(replies=[words, words], token_delay=0.05)
    async with aclosing(chat_completion_stream(MESSAGES)) as stream:
        async for _piece in stream:
            break
    await asyncio.sleep(0.8)  # the whole reply would have been sent by now
    assert [r.get("stream") for r in standin.requests()] == ["cut"]
    assert "".join(await collect(chat_completion_stream(MESSAGES))) == words
    assert [r.get("stream") for r in standin.requests()] == ["cut", "done"]


async def _raw_stream(body_out: list[bytes]) -> str:
    """One streamed request through the SDK's client; what `_body` read (into `body_out`) and
    the type of the iterator it read with."""
    client = get_openai_client()
    request = {"model": "m", "messages": MESSAGES, "stream": True}
    response = await client.post(
        CHAT_COMPLETIONS_PATH, cast_to=httpx.Response, body=request, stream=True
    )
    body, watch = _body(response)
    try:
        async with aclosing(response):
            body_out.extend([data async for data in body])
    finally:
        if watch is not None:
            watch.stop()
    return type(body).__module__


async def test_a_stream_is_read_from_the_aiohttp_response_itself(standin):
    """The SDK's aiohttp transport: the body is read from aiohttp's response, each network
    read as it came (not through httpx's generators above it: CPU per token, `make bench`)."""
    standin.control(replies=["direct read"])
    body: list[bytes] = []
    assert await _raw_stream(body) == aiohttp.streams.__name__
    assert b"".join(body).endswith(b"data: [DONE]\n\n")
    assert "".join(await collect(chat_completion_stream(MESSAGES))) != ""


async def test_a_gzip_encoded_stream_is_decoded_by_httpx(standin):
    """A compressing proxy's gzip-encoded stream: aiohttp's response is not decoded (the
    SDK's transport leaves that to httpx), so it is read through httpx's decoders."""
    standin.control(mode="gzip", times=2, replies=["squeezed words here", REPLY])
    body: list[bytes] = []
    assert await _raw_stream(body) != aiohttp.streams.__name__
    assert b'"squeezed "' in b"".join(body)  # decoded: the events as sent
    assert "".join(await collect(chat_completion_stream(MESSAGES))) == REPLY


async def test_client_is_cached_per_configuration(settings_env):
    first = get_openai_client()
    assert get_openai_client() is first
    settings_env(AI_TIMEOUT_SEC="1.5")
    second = get_openai_client()
    assert second is not first
    assert second.timeout == 1.5


async def test_a_local_server_needs_no_api_key(standin, settings_env):
    settings_env(OPENAI_API_KEY=None)
    client = get_openai_client()
    assert client.api_key == LOCAL_SERVER_API_KEY
    standin.control(replies=["local reply"])
    assert await chat_completion(MESSAGES) == "local reply"


async def test_no_provider_configured_is_unavailable(settings_env):
    settings_env(OPENAI_API_KEY=None, OPENAI_BASE_URL=None)
    with pytest.raises(AIUnavailableError):
        await chat_completion(MESSAGES)


async def _chunks(body: bytes, size: int):
    for i in range(0, len(body), size):
        yield body[i : i + size]


SSE_BODY = (
    b": a comment line\r\n\r\n"
    b'data: {"choices":[{"delta":{"content":"caf\xc3\xa9 "}}]}\r\n\r\n'
    b"retry: 100\n\n"
    b'data: {"choices":\ndata: [{"delta":{"content":"two lines"}}]}\n\n'
    b'event: ping\ndata: {"ignored": true}\n\n'
    b"data: [DONE]\n\n"
    b'data: {"choices":[{"delta":{"content":"after done"}}]}\n\n'
)


@pytest.mark.parametrize("size", [1, 2, 7, 64, len(SSE_BODY)])
async def test_crlf_events_are_parsed_however_the_bytes_are_split(size):
    """Every line ended by \\r\\n, a read ending between the two: each blank line ends its
    event (not merged with the next into one undecodable event)."""
    body = SSE_BODY.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
    payloads = [p async for b in _sse_data(_chunks(body, size)) for p in b]
    assert [p["choices"][0]["delta"]["content"] for p in payloads] == ["café ", "two lines"]


@pytest.mark.parametrize("size", [1, 2, 7, 64, len(SSE_BODY)])
async def test_server_sent_events_are_parsed_however_the_bytes_are_split(size):
    """Events split anywhere (inside a UTF-8 character, between \\r and \\n) come out whole;
    comments, retry: and named events carry no delta; nothing after [DONE] is read."""
    batches = [b async for b in _sse_data(_chunks(SSE_BODY, size))]
    payloads = [p for batch in batches for p in batch]
    assert [p["choices"][0]["delta"]["content"] for p in payloads] == ["café ", "two lines"]
    # one list per network read that completed an event: both events in one read, one list
    assert len(batches) == (1 if size == len(SSE_BODY) else 2)


async def test_bytes_that_are_not_utf8_read_as_replacement_characters():
    """A server's broken character does not fail the reply: it reads as U+FFFD, as a text
    decoder's would."""
    body = b'data: {"choices":[{"delta":{"content":"bad \xff byte"}}]}\n\ndata: [DONE]\n\n'
    payloads = [p async for b in _sse_data(_chunks(body, 3)) for p in b]
    assert [p["choices"][0]["delta"]["content"] for p in payloads] == ["bad \ufffd byte"]


@pytest.mark.parametrize(
    "body",
    [
        b'data: {"choices":[]}\n\ndata: {"error": {"message": "overloaded"}}\n\n',
        b'event: error\ndata: {"message": "overloaded"}\n\n',
        b"data: {not json\n\n",
    ],
    ids=["error_payload", "error_event", "undecodable"],
)
async def test_an_error_or_garbage_in_the_stream_is_ai_unavailable(body):
    with pytest.raises(AIUnavailableError):
        [p async for p in _sse_data(_chunks(body, 5))]


async def test_the_events_before_an_error_in_the_same_read_are_still_yielded():
    body = (
        b'data: {"choices":[{"delta":{"content":"so far"}}]}\n\n'
        b'data: {"error": {"message": "overloaded"}}\n\n'
    )
    batches = []
    with pytest.raises(AIUnavailableError):
        async for batch in _sse_data(_chunks(body, len(body))):
            batches.append(batch)
    assert [[p["choices"][0]["delta"]["content"] for p in b] for b in batches] == [["so far"]]


async def test_warming_builds_the_chat_client_the_first_turn_would(settings_env):
    """The app's start-up warms the client (`main.lifespan`), so that the first AI turn does
    not build it: ~70 ms of the loop (a TLS context, the SDK's HTTP stack imported)."""
    from app.ai import openai_client

    settings_env(AI_TIMEOUT_SEC="7.25")  # a configuration no other test made a client for
    key = openai_client._client_key(get_settings())
    cache = openai_client._clients.setdefault(asyncio.get_running_loop(), {})
    assert key not in cache
    assert openai_client.warm_openai_client()
    assert get_openai_client() is cache[key]


async def test_warming_with_no_provider_builds_nothing_and_raises_nothing(settings_env):
    from app.ai import openai_client

    cache = openai_client._clients.setdefault(asyncio.get_running_loop(), {})
    before = dict(cache)
    settings_env(OPENAI_API_KEY=None, OPENAI_BASE_URL=None)
    assert not openai_client.warm_openai_client()
    settings_env(LLM_PROVIDER="local", LOCAL_LLM_URL="")
    assert not openai_client.warm_openai_client()  # misconfigured: the turn will say so
    assert cache == before
