"""Voice turns: an utterance in (speech to text), the interviewer's turn out as text and speech.

`answer_from_audio()` transcribes the candidate's audio and then runs the very same turn as a
typed answer (`stream_process_message` with `answer_mode="voice"`, the `transcription` event
making the answer durable). `speak()` wraps any turn started from a voice socket (greeting,
answer, closing, recovery): it splits the streamed text into sentences and publishes an `audio`
event per sentence with the turn's `stream_id`, synthesizing while the text still streams.

Ordering: the conductor reserves some `seq` numbers before it publishes them (the `stream_end`
of a turn, after saving it). Audio is therefore published only between two events of the turn,
while the conductor is paused at a `yield` (never inside such a window), and a turn's last
sentences are spoken before the turn goes on to publish `complete`, so a closing's audio reaches
the socket before it closes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from sqlmodel import select

from app.ai.errors import AIUnavailableError
from app.ai.voice.audio import InvalidAudioError
from app.ai.voice.tts_handler import SentenceSplitter, Speech, TextToSpeech, get_tts
from app.ai.voice.whisper_stt import transcribe
from app.core.database import session_factory
from app.models import InterviewTranscript
from app.services.interview_conductor_service import ConductorError, InterviewConductorService
from app.services.interview_events import Event, get_hub

logger = logging.getLogger("app.voice")

STT_UNAVAILABLE_TEXT = (
    "Speech recognition is unavailable right now. Please send your answer again, or type it."
)
TTS_UNAVAILABLE_TEXT = (
    "The interviewer's voice is unavailable right now; the reply is shown as text."
)
# How long a turn waits, after its text is complete, for the rest of its audio.
AUDIO_TAIL_TIMEOUT_SEC = 30.0


class InvalidAudioMessage(ConductorError):
    """Empty, silent, undecodable or too long: nothing is saved."""

    code = "INVALID_MESSAGE"


class SpeechUnavailableError(ConductorError):
    """The speech-to-text provider failed: nothing is saved; the same audio may be resent."""

    code = "AI_UNAVAILABLE"


def audio_client_msg_id(data: bytes) -> str:
    """The id of an utterance sent without one: a resend of the same bytes is the same answer
    (saved once; retried after AI_UNAVAILABLE; silent once answered)."""
    return "audio-" + hashlib.sha256(data).hexdigest()[:40]


def decode_base64_audio(text: str, limit: int) -> bytes:
    """The bytes of a JSON audio frame's `data`; InvalidAudioMessage if it is not base64."""
    if len(text) > (limit + 2) // 3 * 4 + 4:
        raise InvalidAudioMessage(f"Audio too large (limit {limit} bytes)")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise InvalidAudioMessage("Audio 'data' is not valid base64") from None


async def unanswered_text(interview_id: int, client_msg_id: str) -> str | None:
    """The saved words of answer `client_msg_id` if its reply failed (a retry needs no STT)."""
    async with session_factory()() as db:
        row = (
            await db.exec(
                select(InterviewTranscript)
                .where(InterviewTranscript.interview_id == interview_id)
                .where(InterviewTranscript.client_msg_id == client_msg_id)
            )
        ).first()
        return row.content if row is not None else None


async def answer_from_audio(
    interview_id: int,
    audio: bytes,
    client_msg_id: str,
    conductor: InterviewConductorService | None = None,
) -> AsyncIterator[Event]:
    """Transcribe `audio`, then the same turn as a typed answer (see module doc)."""
    conductor = conductor or InterviewConductorService()
    text = await unanswered_text(interview_id, client_msg_id)
    if text is None:
        try:
            text = await transcribe(audio)
        except InvalidAudioError as exc:
            raise InvalidAudioMessage(str(exc)) from None
        except AIUnavailableError as exc:
            logger.warning("interview %s: speech-to-text failed: %s", interview_id, exc)
            raise SpeechUnavailableError(STT_UNAVAILABLE_TEXT) from None
    turn = conductor.stream_process_message(
        interview_id,
        text,
        client_msg_id,
        answer_mode="voice",
        durable_event={"type": "transcription", "client_msg_id": client_msg_id},
    )
    async for event in turn:
        yield event


class TurnSpeaker:
    """Speaks one AI turn: sentences in, in order; finished audio out, in order."""

    def __init__(self, stream_id: str, tts: TextToSpeech) -> None:
        self.stream_id = stream_id
        self.tts = tts
        self.splitter = SentenceSplitter()
        self.queue: asyncio.Queue[tuple[str, bool] | None] = asyncio.Queue()
        self.ready: deque[tuple[str, Speech, bool]] = deque()
        self.changed = asyncio.Event()
        self.failed = False
        self.sentences = 0
        self.worker = asyncio.create_task(self._work(), name=f"tts-{stream_id}")

    def feed(self, text: str) -> None:
        for sentence in self.splitter.feed(text):
            self.queue.put_nowait((sentence, False))

    def finish(self) -> None:
        rest = self.splitter.finish()
        for i, sentence in enumerate(rest):
            self.queue.put_nowait((sentence, i == len(rest) - 1))
        self.queue.put_nowait(None)

    async def _work(self) -> None:
        while (item := await self.queue.get()) is not None:
            sentence, last = item
            if self.failed:
                continue
            try:
                speech = await self.tts.synthesize(sentence)
            except AIUnavailableError as exc:
                logger.warning("stream %s: text-to-speech failed: %s", self.stream_id, exc)
                self.failed = True
            else:
                self.ready.append((sentence, speech, last))
            self.changed.set()

    def take_ready(self) -> list[tuple[str, Speech, bool]]:
        out = list(self.ready)
        self.ready.clear()
        self.changed.clear()
        return out

    async def wait_changed(self) -> None:
        """Until more audio is ready or the worker is done."""
        if self.ready or self.worker.done():
            return
        waiter = asyncio.ensure_future(self.changed.wait())
        try:
            await asyncio.wait({waiter, self.worker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def cancel(self) -> None:
        self.worker.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.worker


async def speak(
    interview_id: int, events: AsyncIterator[Event], origin: Any = None
) -> AsyncIterator[Event]:
    """`events` (a turn of the conductor) passed through, plus `audio` events for its speech.

    `origin` (the voice socket that started the turn) gets `error AI_UNAVAILABLE` once if the
    voice fails; the text turn itself stands (it is saved), so it has no `stream_id`."""
    log = get_hub().log(interview_id)
    speaker: TurnSpeaker | None = None
    reported = False

    async def publish_ready() -> None:
        nonlocal reported
        if speaker is None:
            return
        for sentence, speech, last in speaker.take_ready():
            await log.publish(
                {
                    "type": "audio",
                    "stream_id": speaker.stream_id,
                    "index": speaker.sentences,
                    "last": last,
                    "format": speech.format,
                    "text": sentence,
                    "data": base64.b64encode(speech.data).decode("ascii"),
                }
            )
            speaker.sentences += 1
        if speaker.failed and not reported:
            reported = True
            if origin is not None:
                origin.send_error("AI_UNAVAILABLE", TTS_UNAVAILABLE_TEXT)

    try:
        async for event in events:
            kind = event["type"]
            if kind == "stream_start":
                try:
                    tts = get_tts()
                except AIUnavailableError as exc:
                    logger.warning("interview %s: no text-to-speech: %s", interview_id, exc)
                    if origin is not None and not reported:
                        origin.send_error("AI_UNAVAILABLE", TTS_UNAVAILABLE_TEXT)
                    reported = True
                else:
                    speaker = TurnSpeaker(event["stream_id"], tts)
            elif speaker is not None and event.get("stream_id") == speaker.stream_id:
                if kind == "stream_chunk":
                    speaker.feed(event["content"])
                elif kind == "stream_end":
                    speaker.finish()
                    await _speak_the_rest(speaker, publish_ready)
                    await publish_ready()
                    await speaker.cancel()
                    speaker = None
                elif kind == "error":  # the turn failed: its partial text (and voice) is dropped
                    await speaker.cancel()
                    speaker = None
            await publish_ready()
            yield event
    finally:
        if speaker is not None:
            await speaker.cancel()


async def _speak_the_rest(speaker: TurnSpeaker, publish_ready: Any) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + AUDIO_TAIL_TIMEOUT_SEC
    while not speaker.worker.done():
        left = deadline - loop.time()
        if left <= 0:
            logger.warning("stream %s: the rest of its audio timed out", speaker.stream_id)
            speaker.failed = True
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(left):
                await speaker.wait_changed()
        await publish_ready()
