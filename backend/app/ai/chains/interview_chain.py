"""The interviewer's turns: phrase what the conductor planned, with rails that hold for any model.

The conductor decides the plan (greeting, follow-up, next question, closing); this chain only
phrases it, through the configured provider (`openai`: prompts + the SDK; `offline`: the scripted
interviewer). Rails, enforced in code whatever the model says:
- the planned question is in every non-closing turn's prompt, and a finished reply that neither
  contains a "?" nor the question's text gets "\\n\\n" + the question appended as a last piece;
- a closing never asks a question: sentences ending in "?" are dropped from it (and if nothing
  is left, the scripted closing is used).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

from app.ai import offline
from app.ai.openai_client import chat_completion, chat_completion_stream
from app.ai.prompts.interview import build_interview_messages
from app.ai.schemas import InterviewContext, TurnPlan
from app.core.config import get_settings

__all__ = [
    "InterviewContext",
    "TurnPlan",
    "get_interview_response",
    "stream_interview_response",
]

INTERVIEW_TEMPERATURE = 0.7
INTERVIEW_MAX_TOKENS = 500
# A sentence ends at . ! ? (with closing quotes/brackets) followed by white space.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*\s+")


class _QuestionFilter:
    """Drops question sentences from streamed text, releasing each other sentence when complete."""

    def __init__(self) -> None:
        self._buffer = ""
        self.kept = ""

    def _keep(self, sentence: str) -> str:
        if "?" in sentence:
            return ""
        self.kept += sentence
        return sentence

    def feed(self, piece: str) -> str:
        self._buffer += piece
        out = ""
        while (match := _SENTENCE_END.search(self._buffer)) is not None:
            sentence, self._buffer = self._buffer[: match.end()], self._buffer[match.end() :]
            out += self._keep(sentence)
        return out

    def finish(self) -> str:
        rest, self._buffer = self._buffer, ""
        return self._keep(rest) if rest.strip() else ""


def _question_suffix(text: str, plan: TurnPlan) -> str:
    """What to append so a non-closing turn surely asks its planned question ("" if it does)."""
    question = (plan.question_text or "").strip()
    if plan.kind == "closing" or not question:
        return ""
    if "?" in text or question.lower() in text.lower():
        return ""
    return "\n\n" + question


def _provider_stream(ctx: InterviewContext, plan: TurnPlan) -> AsyncGenerator[str, None]:
    settings = get_settings()
    if settings.llm_provider == "offline":
        return offline.stream_interview_text(
            ctx, plan, words_per_sec=settings.OFFLINE_WORDS_PER_SEC
        )
    return chat_completion_stream(
        build_interview_messages(ctx, plan),
        temperature=INTERVIEW_TEMPERATURE,
        max_tokens=INTERVIEW_MAX_TOKENS,
    )


async def stream_interview_response(ctx: InterviewContext, plan: TurnPlan) -> AsyncIterator[str]:
    """Stream the interviewer's reply for `plan` as text pieces (rails applied).

    Raises AIUnavailableError if the provider fails, also after some pieces were yielded: the
    caller then drops the partial text.
    """
    pieces: list[str] = []
    closing_filter = _QuestionFilter() if plan.kind == "closing" else None
    async with aclosing(_provider_stream(ctx, plan)) as source:
        async for piece in source:
            if closing_filter is not None:
                piece = closing_filter.feed(piece)
            if piece:
                pieces.append(piece)
                yield piece
    if closing_filter is not None:
        rest = closing_filter.finish()
        if rest:
            yield rest
        if not closing_filter.kept.strip():
            yield offline.closing_text(ctx, plan.closing_reason)
        return
    suffix = _question_suffix("".join(pieces), plan)
    if suffix:
        yield suffix


async def get_interview_response(ctx: InterviewContext, plan: TurnPlan) -> str:
    """The interviewer's whole reply for `plan` in one piece (non-streaming; same rails)."""
    settings = get_settings()
    if settings.llm_provider == "offline":
        text = offline.interview_text(ctx, plan)
    else:
        text = await chat_completion(
            build_interview_messages(ctx, plan),
            temperature=INTERVIEW_TEMPERATURE,
            max_tokens=INTERVIEW_MAX_TOKENS,
        )
    if plan.kind == "closing":
        closing_filter = _QuestionFilter()
        text = closing_filter.feed(text) + closing_filter.finish()
        return text if text.strip() else offline.closing_text(ctx, plan.closing_reason)
    return text + _question_suffix(text, plan)
