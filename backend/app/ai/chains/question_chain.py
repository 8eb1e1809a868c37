"""Drafting a job's interview questions: the model's JSON list read tolerantly, else templates."""

from __future__ import annotations

import logging
import re
from typing import Any

from app.ai import offline
from app.ai.json_output import extract_json_value
from app.ai.openai_client import chat_completion
from app.ai.prompts.questions import build_question_messages
from app.core.config import get_settings

__all__ = ["draft_questions", "parse_questions"]

logger = logging.getLogger(__name__)

QUESTION_TEMPERATURE = 0.7
QUESTION_MIN_CHARS = 10
QUESTION_MAX_CHARS = 500
_LIST_MARKER = re.compile(r"^\s*(?:(?:Q(?:uestion)?\s*)?\d+\s*[.):\-]|[-*\u2022])\s*", re.I)
_TEXT_KEYS = ("question", "text", "q", "content")


def _clean(question: str) -> str:
    text = " ".join(question.split())
    text = _LIST_MARKER.sub("", text).strip().strip("\"'\u201c\u201d").strip()
    return text


def _dedupe_key(question: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", question.lower())


def _items(value: Any) -> list[Any]:
    if isinstance(value, dict):
        listed = value.get("questions")
        if isinstance(listed, list):
            return listed
        return next((v for v in value.values() if isinstance(v, list)), [])
    return value if isinstance(value, list) else []


def parse_questions(text: str) -> list[str]:
    """Questions from a model reply: JSON {"questions": [...]} (or a list), else list lines.

    Cleaned (numbering and quotes removed), deduplicated, too short or too long ones dropped.
    """
    value = extract_json_value(text)
    raw: list[str] = []
    if value is not None:
        for item in _items(value):
            if isinstance(item, dict):
                item = next((item[k] for k in _TEXT_KEYS if isinstance(item.get(k), str)), None)
            if isinstance(item, str):
                raw.append(item)
    else:  # plain prose: take the numbered/bulleted lines and lines that ask something
        raw = [line for line in text.splitlines() if _LIST_MARKER.match(line) or "?" in line]
    seen: set[str] = set()
    questions = []
    for item in raw:
        question = _clean(item)
        key = _dedupe_key(question)
        if QUESTION_MIN_CHARS <= len(question) <= QUESTION_MAX_CHARS and key not in seen:
            seen.add(key)
            questions.append(question)
    return questions


async def draft_questions(
    job_title: str, job_description: str, skills: list[str], count: int
) -> list[str]:
    """`count` interview questions for the job (fewer only if even the templates run out).

    Offline: templates from the title and skills. Openai: the model's questions, padded from the
    templates when it gave fewer. Raises AIUnavailableError when the provider fails.
    """
    if count <= 0:
        return []
    if get_settings().llm_provider == "offline":
        return offline.template_questions(job_title, skills, count)
    raw = await chat_completion(
        build_question_messages(job_title, job_description, skills, count),
        temperature=QUESTION_TEMPERATURE,
        json_mode=True,
    )
    questions = parse_questions(raw)[:count]
    if len(questions) < count:
        logger.info("model drafted %d of %d questions; padding", len(questions), count)
        seen = {_dedupe_key(q) for q in questions}
        for template in offline.template_questions(job_title, skills, count + len(questions)):
            if len(questions) >= count:
                break
            if _dedupe_key(template) not in seen:
                seen.add(_dedupe_key(template))
                questions.append(template)
    return questions
