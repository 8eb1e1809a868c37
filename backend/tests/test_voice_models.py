"""Speech in and out, below the socket: the local models (shipped in PyPI packages, sha256
verified), the OpenAI-compatible providers through the stand-in, audio refusals, sentences."""

from __future__ import annotations

import pytest

from app.ai.errors import AIUnavailableError
from app.ai.model_files import ModelFile, ModelIntegrityError, ModelUnavailableError
from app.ai.voice import tts_handler, whisper_stt
from app.ai.voice.audio import InvalidAudioError, decode, sniff_format
from app.ai.voice.tts_handler import SentenceSplitter, speakable
from tests.support.audio import convert, duration_of, silence_wav, speech_wav, tone_wav, words

ANSWER = "I have five years of experience with Python and large databases."


@pytest.fixture
def local_voice(settings_env):
    return settings_env(STT_PROVIDER="local", TTS_PROVIDER="local")


# -- local speech to text ---------------------------------------------------------------------
@pytest.mark.parametrize("container", ["wav", "webm", "ogg", "mp3"])
async def test_local_stt_recognises_the_key_words(local_voice, container):
    wav = speech_wav(ANSWER)
    audio = wav if container == "wav" else convert(wav, container)
    text = await whisper_stt.transcribe(audio)
    heard = words(text)
    assert {"years", "experience", "python", "databases"} <= heard, text
    assert "five" in heard or "5" in heard, text


async def test_local_stt_refuses_what_is_not_speech(local_voice, settings_env):
    for audio, reason in [
        (b"", "empty"),
        (b"this is not audio at all" * 40, "could not be decoded"),
        (convert(speech_wav(ANSWER), "webm")[:60], "could not be decoded"),
        (silence_wav(2.0, noise_dbfs=None), "No speech"),
        (silence_wav(2.0, noise_dbfs=-70), "No speech"),
        (tone_wav(0.1), "too short"),
    ]:
        with pytest.raises(InvalidAudioError, match=reason):
            await whisper_stt.transcribe(audio)
    settings_env(STT_MAX_AUDIO_SEC="1")
    with pytest.raises(InvalidAudioError, match="too long"):
        await whisper_stt.transcribe(speech_wav(ANSWER))


async def test_a_tone_is_heard_as_nothing_said(local_voice):
    with pytest.raises(InvalidAudioError, match="No speech"):
        await whisper_stt.transcribe(tone_wav(2.0))


# -- local text to speech ---------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["mp3", "opus", "wav"])
async def test_local_tts_returns_decodable_audio_of_plausible_length(settings_env, fmt):
    settings_env(TTS_PROVIDER="local", TTS_FORMAT=fmt)
    text = "Thank you. Could you tell me about a project you are proud of?"
    speech = await tts_handler.get_tts().synthesize(text)
    assert speech.format == fmt and sniff_format(speech.data) == fmt
    seconds = duration_of(speech.data)
    # about 13 words: a natural pace is 2-4 words a second
    assert 2.0 < seconds < 8.0, seconds
    assert speech.duration_sec is not None and abs(speech.duration_sec - seconds) < 0.2
    if fmt == "mp3":
        assert len(speech.data) < 60_000  # compressed: a frame stays small


async def test_local_tts_speech_is_understood_by_local_stt(local_voice):
    speech = await tts_handler.get_tts().synthesize("Tell me about your favourite database.")
    text = await whisper_stt.transcribe(speech.data)
    assert "database" in text.lower() and "tell me" in text.lower(), text


# -- model files: pinned sha256, refused on mismatch -------------------------------------------
def test_every_local_model_file_matches_its_pin():
    for spec in [*whisper_stt.WHISPER_TINY_EN.values(), whisper_stt.SILERO_VAD]:
        assert spec.verified_path().is_file()
    assert tts_handler.JOE_VOICE.read_verified()[:4]
    assert tts_handler.JOE_VOICE_CONFIG.read_verified().startswith(b"{")


def test_a_model_file_with_another_sha256_is_refused_with_a_clear_error():
    real = tts_handler.JOE_VOICE
    forged = ModelFile(real.dist, real.module, real.path, "0" * 64)
    with pytest.raises(ModelIntegrityError, match=r"refusing to load .*en_US-joe-medium\.onnx"):
        forged.read_verified()
    with pytest.raises(ModelIntegrityError, match="does not match the pinned"):
        forged.verified_path()
    with pytest.raises(ModelUnavailableError, match="not installed"):
        ModelFile("nope==1", "no_such_model_package", "x.bin", "0" * 64).locate()


async def test_a_mismatched_voice_is_never_loaded_and_the_turn_gets_ai_unavailable(
    monkeypatch, settings_env
):
    settings_env(TTS_PROVIDER="local")
    real = tts_handler.JOE_VOICE
    monkeypatch.setattr(
        tts_handler, "JOE_VOICE", ModelFile(real.dist, real.module, real.path, "f" * 64)
    )
    fresh = tts_handler.PiperTextToSpeech(threads=1, fmt="mp3")
    with pytest.raises(AIUnavailableError, match="refusing to load"):
        await fresh.synthesize("Hello there.")
    assert fresh._voice is None


async def test_a_mismatched_whisper_model_is_refused(monkeypatch):
    real = whisper_stt.WHISPER_TINY_EN["model.bin"]
    patched = dict(whisper_stt.WHISPER_TINY_EN)
    patched["model.bin"] = ModelFile(real.dist, real.module, real.path, "e" * 64)
    monkeypatch.setattr(whisper_stt, "WHISPER_TINY_EN", patched)
    fresh = whisper_stt.LocalWhisperSpeechToText(threads=1)
    audio = decode(speech_wav(ANSWER), 60)
    with pytest.raises(AIUnavailableError, match="does not match the pinned"):
        await fresh.transcribe(audio, b"")
    assert fresh._model is None


# -- OpenAI-compatible providers (the stand-in) ------------------------------------------------
async def test_openai_stt_uploads_the_original_container(settings_env, standin):
    settings_env(STT_PROVIDER="openai")
    standin.control(replies=["I led the migration to Kubernetes."])
    webm = convert(speech_wav(ANSWER), "webm")
    assert await whisper_stt.transcribe(webm) == "I led the migration to Kubernetes."
    [seen] = [r for r in standin.requests() if r["path"] == "/v1/audio/transcriptions"]
    assert seen["bytes"] == len(webm)


async def test_openai_stt_failure_is_ai_unavailable_and_bad_audio_never_reaches_it(
    settings_env, standin
):
    settings_env(STT_PROVIDER="openai")
    standin.control(mode="fail", times=1)
    with pytest.raises(AIUnavailableError):
        await whisper_stt.transcribe(speech_wav(ANSWER))
    with pytest.raises(InvalidAudioError):
        await whisper_stt.transcribe(silence_wav())
    standin.control(replies=["   "])
    with pytest.raises(InvalidAudioError, match="No speech was recognised"):
        await whisper_stt.transcribe(speech_wav(ANSWER))
    paths = [r["path"] for r in standin.requests()]
    assert paths.count("/v1/audio/transcriptions") == 2  # not for the silence


async def test_openai_tts_labels_what_the_server_returned(settings_env, standin):
    settings_env(TTS_PROVIDER="openai", TTS_FORMAT="mp3", TTS_VOICE="nova", TTS_MODEL="tts-x")
    speech = await tts_handler.get_tts().synthesize("Hello Alice.")
    assert speech.format == "wav"  # the stand-in always answers WAV, whatever was asked
    [seen] = [r for r in standin.requests() if r["path"] == "/v1/audio/speech"]
    assert seen["body"]["voice"] == "nova" and seen["body"]["model"] == "tts-x"
    assert seen["body"]["input"] == "Hello Alice." and seen["body"]["response_format"] == "mp3"
    standin.control(mode="fail", times=1)
    with pytest.raises(AIUnavailableError):
        await tts_handler.get_tts().synthesize("Hello again.")


def test_auto_picks_openai_with_an_openai_llm_else_the_local_models(settings_env):
    s = settings_env(STT_PROVIDER=None, TTS_PROVIDER=None)
    assert (s.llm_provider, s.stt_provider, s.tts_provider) == ("openai", "openai", "openai")
    s = settings_env(LLM_PROVIDER="offline")
    assert (s.stt_provider, s.tts_provider) == ("local", "local")
    s = settings_env(LLM_PROVIDER="local")
    assert (s.stt_provider, s.tts_provider) == ("local", "local")
    s = settings_env(LLM_PROVIDER="offline", STT_PROVIDER="openai")
    assert (s.stt_provider, s.tts_provider) == ("openai", "local")


# -- sentences ---------------------------------------------------------------------------------
def feed_all(splitter: SentenceSplitter, text: str, size: int = 3) -> list[str]:
    out: list[str] = []
    for i in range(0, len(text), size):
        out += splitter.feed(text[i : i + size])
    return out + splitter.finish()


def test_sentences_come_out_as_soon_as_the_next_one_begins():
    splitter = SentenceSplitter()
    assert splitter.feed("Welcome to the interview, Alice. ") == []  # the last one, maybe
    assert splitter.feed("Let") == ["Welcome to the interview, Alice."]
    assert splitter.finish() == ["Let"]
    thanks = "Thanks for sharing that, Alice."
    assert splitter.feed(thanks + " Next") == [thanks]
    assert splitter.feed(", tell me about") == []
    assert splitter.feed(" a hard bug? I") == ["Next, tell me about a hard bug?"]
    assert splitter.finish() == ["I"]


def test_sentences_respect_abbreviations_lists_markup_and_length():
    text = (
        "Great. I see, e.g. the Dr. Smith case was hard!\n\n**Question 2:** "
        "Which tools did you use:\n1. for tests\n2. for deploys? " + "word " * 80 + "end."
    )
    out = feed_all(SentenceSplitter(), text)
    assert out[0] == "Great. I see, e.g. the Dr. Smith case was hard!"  # "Great." alone is short
    assert out[1] == "Question 2: Which tools did you use:"
    assert "1. for tests" in out[2]
    assert all(len(s) <= 240 for s in out) and out[-1].endswith("end.")
    assert " ".join(out).count("word") == 80
    assert speakable("**Bold** and `code` # heading") == "Bold and code heading"
