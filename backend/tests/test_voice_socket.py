"""The voice socket end to end (PROTOCOL.md): audio in → `transcription` → the same turn as a
typed answer → `audio` with the turn's stream_id, sentence by sentence; greeting and closing
spoken too; bad audio refused with nothing saved; provider failures with retry semantics."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from app.ai.voice.tts_handler import speakable
from tests.support.audio import convert, duration_of, silence_wav, speech_wav, words
from tests.support.factories import make_interview, token
from tests.support.ws import Frame, WSClient
from tests.support.ws_flow import (
    ai_rows,
    candidate_rows,
    frames_for,
    of_type,
    one,
    open_candidate,
    ping_pong,
)

ANSWER = "I built the payment service in Python and I ran it in production for four years."


def voice_path(interview_id: int) -> str:
    return f"/ws/voice/{interview_id}"


async def open_voice(ws_url: Any, setup: Any, **q: str) -> WSClient:
    return await WSClient.open(
        ws_url(voice_path(setup.interview.id), token(setup.candidate_user), **q)
    )


async def recv_spoken_turn(ws: WSClient, timeout: float = 60.0) -> list[Frame]:
    """Frames up to the turn's `stream_end` and on to its last `audio` (or an error)."""
    frames = await ws.recv_until("stream_end", "error", timeout=timeout)
    if frames[-1]["type"] == "error":
        return frames
    sid = frames[-1]["stream_id"]
    while True:
        more = await ws.recv_until("audio", "error", timeout=timeout)
        frames += more
        last = more[-1]
        if last["type"] == "error" or (last["stream_id"] == sid and last["last"]):
            return frames


def assert_spoken(
    frames: list[Frame], kind: str, min_sec: float = 0.3
) -> tuple[Frame, list[Frame]]:
    """The turn's stream_end and its audio: every piece decodable, in order, the turn's id."""
    start = one(frames, "stream_start")
    assert start["kind"] == kind
    end = one(frames, "stream_end")
    audio = of_type(frames, "audio")
    assert audio, [f["type"] for f in frames]
    assert {a["stream_id"] for a in audio} == {start["stream_id"]}
    assert [a["index"] for a in audio] == list(range(len(audio)))
    assert [a["last"] for a in audio] == [False] * (len(audio) - 1) + [True]
    seqs = [f["seq"] for f in frames if "seq" in f]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    spoken = " ".join(a["text"] for a in audio)
    assert words(spoken) == words(speakable(end["content"])), (spoken, end["content"])
    for piece in audio:
        data = base64.b64decode(piece["data"])
        assert min_sec < duration_of(data) < 30, piece["text"]
    return end, audio


@pytest.fixture
def all_local(settings_env):
    """No key, no network: offline interviewer, Whisper tiny.en, the piper voice."""
    return settings_env(
        LLM_PROVIDER="offline", STT_PROVIDER="local", TTS_PROVIDER="local", TTS_FORMAT="mp3"
    )


async def test_a_voice_interview_on_the_local_models(db, ws_url, all_local):
    setup = await make_interview(db, questions=["Tell me about a system you built.", "Why us?"])
    iid = setup.interview.id
    ws = await open_voice(ws_url, setup)
    await ws.send({"type": "start"})
    _, greeting_audio = assert_spoken(await recv_spoken_turn(ws), "greeting")
    assert greeting_audio[0]["format"] == "mp3"

    await ws.send(convert(speech_wav(ANSWER), "webm"))  # binary: what MediaRecorder makes
    frames = await recv_spoken_turn(ws)
    said = frames[0]
    assert said["type"] == "transcription" and said["seq"] > greeting_audio[-1]["seq"]
    assert {"payment", "python", "production", "years"} <= words(said["content"]), said["content"]
    assert frames[1]["type"] == "thinking"
    reply, _ = assert_spoken(frames, "response")
    assert reply["question_number"] == 2

    [row] = await candidate_rows(iid)
    assert row.answer_mode == "voice" and row.content == said["content"]
    assert row.seq == said["seq"] and row.client_msg_id == said["client_msg_id"]

    # the JSON form, base64, with the client's own id; the closing is spoken before `complete`
    wav = speech_wav("I want to work on hard problems with a great team of engineers.")
    await ws.send(
        {
            "type": "audio",
            "format": "wav",
            "data": base64.b64encode(wav).decode(),
            "client_msg_id": "v2",
        }
    )
    frames = await recv_spoken_turn(ws)
    assert one(frames, "transcription")["client_msg_id"] == "v2"
    closing, _ = assert_spoken(frames, "closing")
    assert closing["is_complete"] is True
    done = await ws.recv_until("complete")
    assert not of_type(done, "audio")
    assert await ws.expect_close() == 1000
    assert [r.client_msg_id for r in await candidate_rows(iid)] == [row.client_msg_id, "v2"]
    assert len(await ai_rows(iid)) == 3


async def test_a_voice_turn_through_the_openai_compatible_stand_in(db, ws_url, standin):
    setup = await make_interview(db)
    iid = setup.interview.id
    ws = await open_voice(ws_url, setup)
    await ws.send({"type": "start"})
    _, audio = assert_spoken(await recv_spoken_turn(ws), "greeting", min_sec=0.1)
    assert audio[0]["format"] == "wav"  # what the stand-in speaks

    standin.control(replies=["I have led three teams through database migrations."])
    await ws.send(convert(speech_wav(ANSWER), "ogg"))
    frames = await recv_spoken_turn(ws)
    assert one(frames, "transcription")["content"] == (
        "I have led three teams through database migrations."
    )
    assert_spoken(frames, "response", min_sec=0.1)
    paths = [r["path"] for r in standin.requests()]
    assert paths.count("/v1/audio/transcriptions") == 1
    speech = [r["body"] for r in standin.requests() if r["path"] == "/v1/audio/speech"]
    assert len(speech) >= 4 and all(b["input"] for b in speech)  # sentence by sentence
    assert (await candidate_rows(iid))[0].answer_mode == "voice"


async def test_bad_audio_is_refused_and_nothing_is_saved(db, ws_url, settings_env, standin):
    settings_env(WS_MAX_AUDIO_BYTES="4096", STT_PROVIDER="local", TTS_PROVIDER="local")
    setup = await make_interview(db)
    ws = await open_voice(ws_url, setup)
    await ws.send({"type": "start"})
    await recv_spoken_turn(ws)
    cases: list[tuple[Any, str]] = [
        (b"", "empty"),
        (b"\x00\x01garbage" * 100, "could not be decoded"),
        (silence_wav(0.1, noise_dbfs=None), "too short"),
        (silence_wav(0.12, rate=8000, noise_dbfs=-75), "too short"),
        (b"\x00" * 5000, "too large"),
        ({"type": "audio", "format": "wav", "data": "not base64!!"}, "not valid base64"),
        ({"type": "audio", "format": "wav", "data": "A" * 6000}, "too large"),
        ({"type": "audio", "data": base64.b64encode(b"RIFF1234WAVE").decode()}, "decoded"),
        ({"type": "audio", "format": "webm"}, "data"),
    ]
    for frame, reason in cases:
        await ws.send(frame)
        [error] = await ws.recv_until("error")
        assert error["code"] == "INVALID_MESSAGE" and reason in error["content"], (reason, error)
    settings_env(WS_MAX_AUDIO_BYTES=None)
    await ws.send(silence_wav(2.0, noise_dbfs=-70))  # a muted microphone
    [error] = await ws.recv_until("error")
    assert error["code"] == "INVALID_MESSAGE" and "No speech" in error["content"]
    assert await ping_pong(ws) == []  # still open, nothing else was sent
    assert await candidate_rows(setup.interview.id) == []


async def test_audio_is_refused_on_the_text_socket(db, ws_url, standin):
    setup = await make_interview(db)
    text_ws = await open_candidate(ws_url, setup)
    await text_ws.send(speech_wav("hello"))
    [error] = await text_ws.recv_until("error")
    assert error["code"] == "INVALID_MESSAGE"
    await text_ws.send({"type": "audio", "data": "AAAA"})
    [error] = await text_ws.recv_until("error")
    assert error["code"] == "INVALID_MESSAGE" and "voice socket" in error["content"]
    assert await ping_pong(text_ws) == []
    assert await candidate_rows(setup.interview.id) == []


async def test_observers_get_the_turn_but_not_its_audio(db, ws_url, standin):
    from tests.support.factories import make_user

    setup = await make_interview(db)
    hr = await make_user(db)
    observer = await WSClient.open(
        ws_url(f"/ws/interview/{setup.interview.id}/observe", token(hr))
    )
    await observer.recv_until("reconnected")
    ws = await open_voice(ws_url, setup)
    await ws.send({"type": "start"})
    frames = await recv_spoken_turn(ws)
    seen = await observer.recv_until("stream_end")
    seen += await frames_for(observer, 0.5)
    assert not of_type(seen, "audio")
    assert one(seen, "stream_end")["seq"] == one(frames, "stream_end")["seq"]


async def test_speech_to_text_failure_is_ai_unavailable_then_the_same_audio_goes_through(
    db, ws_url, standin
):
    setup = await make_interview(db)
    iid = setup.interview.id
    ws = await open_voice(ws_url, setup)
    await ws.send({"type": "start"})
    await recv_spoken_turn(ws)
    utterance = convert(speech_wav(ANSWER), "webm")
    standin.control(mode="fail", times=1)  # the transcription request fails
    await ws.send(utterance)
    [error] = await ws.recv_until("error")
    assert error["code"] == "AI_UNAVAILABLE" and "stream_id" not in error
    assert await candidate_rows(iid) == []

    await ws.send(utterance)  # the retry: transcribed, answered, saved once
    frames = await recv_spoken_turn(ws)
    assert one(frames, "transcription")
    assert_spoken(frames, "response", min_sec=0.1)
    assert len(await candidate_rows(iid)) == 1
    await ws.send(utterance)  # a repeat of an answered utterance changes nothing
    assert await frames_for(ws, 0.5) == []
    assert len(await candidate_rows(iid)) == 1


async def test_a_failed_reply_is_retried_with_the_saved_words_and_no_new_transcription(
    db, ws_url, standin
):
    setup = await make_interview(db)
    iid = setup.interview.id
    ws = await open_voice(ws_url, setup)
    await ws.send({"type": "start"})
    await recv_spoken_turn(ws)
    payload = base64.b64encode(speech_wav(ANSWER)).decode()
    frame = {"type": "audio", "format": "wav", "data": payload, "client_msg_id": "a1"}
    standin.control(modes=["ok", "fail"])  # transcription ok, the model's reply fails
    await ws.send(frame)
    frames = await ws.recv_until("error", timeout=30)
    said = one(frames, "transcription")
    assert frames[-1]["code"] == "AI_UNAVAILABLE"
    assert [r.content for r in await candidate_rows(iid)] == [said["content"]]

    standin.reset()
    await ws.send(frame)
    frames = await recv_spoken_turn(ws)
    assert not of_type(frames, "transcription")  # the answer was already durable
    assert frames[0]["type"] == "thinking"
    assert_spoken(frames, "response", min_sec=0.1)
    assert "/v1/audio/transcriptions" not in [r["path"] for r in standin.requests()]
    assert len(await candidate_rows(iid)) == 1 and len(await ai_rows(iid)) == 2


async def test_a_voice_failure_keeps_the_text_turn(db, ws_url, standin):
    setup = await make_interview(db)
    iid = setup.interview.id
    ws = await open_voice(ws_url, setup)
    standin.control(modes=["ok", "fail"])  # the greeting streams; its first sentence's speech fails
    await ws.send({"type": "start"})
    frames = await ws.recv_until("stream_end")
    frames += await frames_for(ws, 1.0)
    [error] = of_type(frames, "error")
    assert error["code"] == "AI_UNAVAILABLE" and "stream_id" not in error
    assert "voice" in error["content"]
    assert not of_type(frames, "audio")
    assert one(frames, "stream_end")["content"] == (await ai_rows(iid))[0].content

    await ws.send({"type": "message", "content": ANSWER, "client_msg_id": "t1"})
    frames = await recv_spoken_turn(ws)  # a typed answer on the voice socket is spoken to
    assert_spoken(frames, "response", min_sec=0.1)
