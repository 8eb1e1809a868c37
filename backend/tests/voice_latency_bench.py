"""Time to first audio on the voice socket (not part of `make test`; run it by hand):

    cd backend && ../.venv/bin/pytest -q -s tests/voice_latency_bench.py

Over a real socket to the in-process server: the candidate's utterance (webm/opus) is sent,
and the client stamps `transcription`, the first `stream_chunk`, `stream_end`, the first and
the last `audio`. The baseline "whole reply, then audio" is the reply's `stream_end` plus the
time the same voice takes to speak the whole reply in one piece (measured right after).
Local STT (Whisper tiny.en) and TTS (piper) throughout; the model is the stand-in streaming at
a set pace, or, with LOCAL_LLM_URL set and a server there, the real local model.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import pytest

from app.ai.voice import tts_handler, whisper_stt
from tests.support.audio import convert, speech_wav
from tests.support.factories import make_interview, token
from tests.support.ws import WSClient

ANSWER = "I built the payment service in Python and I ran it in production for four years."
REPLY = (
    "Thank you, that is a solid piece of work to have owned end to end. I would like to "
    "understand how you kept it reliable while it grew. How did you monitor the service, and "
    "what did you change after your worst incident?"
)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


async def one_turn(ws: WSClient, utterance: bytes) -> dict[str, float]:
    sent = time.perf_counter()
    await ws.send(utterance)
    marks: dict[str, float] = {}
    sid = None
    while True:
        frame = await ws.recv(timeout=120)
        now = time.perf_counter() - sent
        kind = frame["type"]
        if kind == "error":
            raise AssertionError(frame)
        if kind == "transcription":
            marks["transcription"] = now
        elif kind == "stream_start":
            sid = frame["stream_id"]
        elif kind == "stream_chunk" and "first_chunk" not in marks:
            marks["first_chunk"] = now
        elif kind == "stream_end":
            marks["stream_end"] = now
            marks["text"] = frame["content"]  # type: ignore[assignment]
        elif kind == "audio" and frame["stream_id"] == sid:
            marks.setdefault("first_audio", now)
            if frame["last"]:
                marks["last_audio"] = now
                return marks


async def run(ws_url: Any, db: Any, label: str) -> None:
    tts = tts_handler.get_tts()
    utterance = convert(speech_wav(ANSWER), "webm")
    results = []
    for _ in range(ROUNDS):
        setup = await make_interview(db, questions=["Q1?", "Q2?", "Q3?", "Q4?", "Q5?"])
        ws = await WSClient.open(
            ws_url(f"/ws/voice/{setup.interview.id}", token(setup.candidate_user))
        )
        await ws.send({"type": "start"})
        while True:  # the greeting, spoken
            frame = await ws.recv(timeout=120)
            if frame["type"] == "audio" and frame["last"]:
                break
        marks = await one_turn(ws, utterance)
        t0 = time.perf_counter()
        await tts.synthesize(str(marks["text"]))
        marks["baseline_first_audio"] = marks["stream_end"] + (time.perf_counter() - t0)
        results.append(marks)
        await ws.close()

    def med(key: str) -> float:
        return statistics.median(float(m[key]) for m in results)

    print(f"\n{label} (median of {ROUNDS}; seconds after the utterance was sent)")
    for key in (
        "transcription",
        "first_chunk",
        "first_audio",
        "stream_end",
        "last_audio",
        "baseline_first_audio",
    ):
        print(f"  {key:<22} {med(key):6.2f}")
    print(
        f"  first audio after the reply began: {med('first_audio') - med('first_chunk'):.2f} s "
        f"(sentence by sentence) vs {med('baseline_first_audio') - med('first_chunk'):.2f} s "
        "(whole reply, then audio)"
    )


@pytest.mark.parametrize("tokens_per_sec", [20, 50])
async def test_time_to_first_audio_stand_in(db, ws_url, standin, settings_env, tokens_per_sec):
    settings_env(STT_PROVIDER="local", TTS_PROVIDER="local", TTS_FORMAT="mp3")
    whisper_stt.warm_up()
    tts_handler.warm_up()
    standin.control(token_delay=1 / tokens_per_sec, replies=[REPLY] * 2 * ROUNDS)
    await run(ws_url, db, f"stand-in model at {tokens_per_sec} words/s, local STT + TTS")


async def test_time_to_first_audio_local_model(db, ws_url, settings_env):
    url = os.environ.get("LOCAL_LLM_URL")
    if not url:
        pytest.fail("set LOCAL_LLM_URL to a running `make local-ai` server")
    settings_env(
        LLM_PROVIDER="local",
        LOCAL_LLM_URL=url,
        OPENAI_API_KEY=None,
        OPENAI_BASE_URL=None,
        STT_PROVIDER="local",
        TTS_PROVIDER="local",
        AI_TIMEOUT_SEC="120",
    )
    whisper_stt.warm_up()
    tts_handler.warm_up()
    await run(ws_url, db, "SmolLM2-135M via llama.cpp, local STT + TTS")
