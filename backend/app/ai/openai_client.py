"""The one way to reach the model: the `openai` SDK's `AsyncOpenAI`, bounded and with typed errors.

Any OpenAI-compatible server works (OpenAI, Azure, vLLM, Ollama, llama.cpp). Every failure of the
provider (HTTP error, timeout, lost connection, empty reply, a stream that dies) becomes
`AIUnavailableError`; callers never see an `openai` exception.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncGenerator
from typing import Any, cast

import openai
from openai import AsyncOpenAI

from app.ai.errors import AIUnavailableError
from app.core.config import Settings, get_settings

logger = logging.getLogger(__name__)

# Local servers (vLLM, Ollama, llama.cpp) ignore the key but the SDK insists on one.
LOCAL_SERVER_API_KEY = "not-needed"

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
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        cache[key] = client
    return client


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
    try:
        stream = await client.chat.completions.create(**request)
    except openai.OpenAIError as exc:
        raise AIUnavailableError(f"chat completion stream failed: {_describe(exc)}") from exc
    got_text = False
    try:
        async for chunk in stream:
            choices = getattr(chunk, "choices", None) or []
            if not choices or choices[0].delta is None:
                continue
            piece = choices[0].delta.content
            if not piece:
                continue
            got_text = got_text or bool(piece.strip())
            yield piece
    except openai.OpenAIError as exc:
        raise AIUnavailableError(f"chat completion stream died: {_describe(exc)}") from exc
    finally:
        await stream.close()
    if not got_text:
        raise AIUnavailableError("chat completion stream returned an empty reply")
