"""Audio fixtures the tests make themselves: speech from espeak-ng (Debian's `espeak-ng`), or,
where it is not installed, from the piper voice; converted with PyAV to what a browser sends.

Nothing here is checked in: every utterance is synthesized on first use and cached per run.
"""

from __future__ import annotations

import functools
import io
import math
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

_DIR = Path(tempfile.mkdtemp(prefix="hireez-audio-"))


@functools.cache
def speech_wav(text: str) -> bytes:
    """`text` spoken, as a 16-bit mono WAV (22.05 kHz from espeak-ng, 22.05 kHz from piper)."""
    espeak = shutil.which("espeak-ng") or shutil.which("espeak")
    if espeak:
        out = _DIR / f"u{abs(hash(text))}.wav"
        subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(out), text], check=True)
        return out.read_bytes()
    from app.ai.voice.tts_handler import PiperTextToSpeech

    voice = PiperTextToSpeech(threads=2, fmt="wav").load()
    samples = np.concatenate([c.audio_int16_array for c in voice.synthesize(text)])
    return pcm_wav(samples, int(voice.config.sample_rate))


def pcm_wav(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype(np.int16).tobytes())
    return buf.getvalue()


def read_pcm(data: bytes) -> tuple[np.ndarray, int]:
    """int16 mono samples and rate of any audio PyAV reads."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        blocks = [
            f.to_ndarray().reshape(-1)
            for frame in container.decode(stream)
            for f in resampler.resample(frame)
        ]
        blocks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(blocks), rate


def duration_of(data: bytes) -> float:
    samples, rate = read_pcm(data)
    return len(samples) / rate


def convert(wav: bytes, container: str) -> bytes:
    """WAV → `webm` (opus, as Chromium's MediaRecorder sends), `ogg` (opus) or `mp3`."""
    samples, rate = read_pcm(wav)
    codecs = {"webm": ("libopus", 48000), "ogg": ("libopus", 48000), "mp3": ("libmp3lame", rate)}
    codec, out_rate = codecs[container]
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=out_rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        fmt = stream.codec_context.format.name
        resampler = av.AudioResampler(format=fmt, layout="mono", rate=out_rate)
        for converted in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def silence_wav(seconds: float = 2.0, rate: int = 16000, noise_dbfs: float | None = -70.0) -> bytes:
    """Digital silence, or very faint noise (a muted or idle microphone)."""
    n = int(rate * seconds)
    if noise_dbfs is None:
        return pcm_wav(np.zeros(n, dtype=np.int16), rate)
    amplitude = 32767 * math.pow(10, noise_dbfs / 20)
    rng = np.random.default_rng(7)
    return pcm_wav((rng.standard_normal(n) * amplitude).astype(np.int16), rate)


def tone_wav(seconds: float, rate: int = 16000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return pcm_wav((np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16), rate)


def words(text: str) -> set[str]:
    return {w.strip(".,!?;:'\"").lower() for w in text.split()}
