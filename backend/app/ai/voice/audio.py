"""Audio in and out of the voice socket, through PyAV (FFmpeg's libraries in a wheel).

`decode()` turns an uploaded utterance (webm/opus from the browser's MediaRecorder, ogg, wav,
mp3, or anything else FFmpeg reads) into 16 kHz mono float samples and refuses empty,
undecodable, silent or over-long audio with `InvalidAudioError`, whose text is safe to send
back. `encode()` turns synthesized PCM into mp3, ogg/opus or wav for an `audio` event. Both are
CPU work: callers run them in a thread.
"""

from __future__ import annotations

import io
import logging
import math
import wave
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy comes with the voice extra; the app imports without it
    import numpy as np

logger = logging.getLogger("app.ai.voice")

STT_SAMPLE_RATE = 16000
MIN_SPEECH_SEC = 0.25
# Loudest 20 ms window below -45 dBFS: nothing was said (a real voice, even a quiet one with the
# browser's automatic gain control, is far above it; room noise is below).
SILENCE_DBFS = -45.0
# What an OpenAI-compatible transcription endpoint accepts as is: FFmpeg container → extension.
UPLOAD_EXTENSIONS = {
    "matroska,webm": "webm",
    "webm": "webm",
    "ogg": "ogg",
    "wav": "wav",
    "mp3": "mp3",
    "flac": "flac",
    "mov,mp4,m4a,3gp,3g2,mj2": "m4a",
}
MIME_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "wav": "audio/wav"}


class InvalidAudioError(ValueError):
    """The uploaded audio cannot be used; `str()` is safe to send to the client."""


@dataclass(frozen=True)
class DecodedAudio:
    samples: Any  # np.ndarray[float32], mono, STT_SAMPLE_RATE
    container: str  # FFmpeg's name of the container format, e.g. "matroska,webm"

    @property
    def duration_sec(self) -> float:
        return len(self.samples) / STT_SAMPLE_RATE

    @property
    def upload_extension(self) -> str | None:
        """The file extension to upload the original bytes under (None: send WAV instead)."""
        return UPLOAD_EXTENSIONS.get(self.container)


def decode(data: bytes, max_seconds: float) -> DecodedAudio:
    """16 kHz mono float32 samples of `data`; InvalidAudioError if it cannot be used."""
    import av
    import numpy as np

    if not data:
        raise InvalidAudioError("The audio is empty")
    max_samples = int(max_seconds * STT_SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    container_name = ""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            container_name = container.format.name
            if not container.streams.audio:
                raise InvalidAudioError("The recording has no audio track")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=STT_SAMPLE_RATE)
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    chunks.append(block)
                    total += len(block)
                    if total > max_samples:
                        raise InvalidAudioError(
                            f"The recording is too long (limit {max_seconds:g} seconds)"
                        )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    except InvalidAudioError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError, OSError) as exc:
        if not chunks:  # nothing usable; a recording cut short after some speech is kept
            logger.info("undecodable audio (%d bytes): %s", len(data), exc)
            raise InvalidAudioError(
                "The audio could not be decoded (send webm/opus, ogg, wav or mp3)"
            ) from None
        logger.info("audio decoded in part (%d bytes): %s", len(data), exc)
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    decoded = DecodedAudio(samples=samples, container=container_name)
    if decoded.duration_sec < MIN_SPEECH_SEC:
        raise InvalidAudioError("The recording is empty or too short")
    if loudest_dbfs(samples) < SILENCE_DBFS:
        raise InvalidAudioError("No speech was heard in the recording")
    return decoded


def loudest_dbfs(samples: np.ndarray, window: int = STT_SAMPLE_RATE // 50) -> float:
    """The RMS level of the loudest 20 ms window, in dBFS (-inf for digital silence)."""
    import numpy as np

    if len(samples) == 0:
        return -math.inf
    usable = len(samples) - len(samples) % window
    frames = samples[:usable].reshape(-1, window) if usable else samples.reshape(1, -1)
    rms = float(np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1)).max())
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def to_wav(samples: np.ndarray, rate: int) -> bytes:
    """16-bit mono WAV of float samples in [-1, 1] or int16 samples."""
    import numpy as np

    if samples.dtype != np.int16:
        samples = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return buf.getvalue()


def encode(samples: np.ndarray, rate: int, fmt: str, bit_rate: int = 48000) -> bytes:
    """int16 mono PCM → `fmt` ("mp3", "opus" in ogg, or "wav")."""
    if fmt == "wav":
        return to_wav(samples, rate)
    import av
    import numpy as np

    codec, container, out_rate = {
        "mp3": ("libmp3lame", "mp3", rate),
        "opus": ("libopus", "ogg", 48000),
    }[fmt]
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container) as out:
        stream: Any = out.add_stream(codec, rate=out_rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(
            samples.astype(np.int16, copy=False).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = rate
        target = stream.codec_context.format.name if stream.codec_context.format else "s16"
        resampler = av.AudioResampler(format=target, layout="mono", rate=out_rate)
        for converted in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def sniff_format(data: bytes) -> str | None:
    """"mp3", "opus" (ogg), "wav", "flac", "aac" or None, from the first bytes."""
    head = data[:12]
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"OggS"):
        return "opus"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2):
        return "mp3"
    if head.startswith(b"fLaC"):
        return "flac"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "aac"
    return None
