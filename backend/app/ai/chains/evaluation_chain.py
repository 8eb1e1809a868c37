"""Scoring a finished interview: a JSON rubric from the model, read tolerantly, or a heuristic.

`openai` provider: one JSON-mode request; the reply is read by a tolerant parser (fenced JSON,
prose around it, scores as text or floats, other wordings of the recommendation). If it is still
unusable, one repair request; then EvaluationFailedError. `offline`: the heuristic of
`app.ai.offline` (method="heuristic").

Choices made where the model's output is incomplete:
- a planned question the model did not score gets 0 with the comment "Not assessed by the
  model"; one the candidate never answered (the interview ended early) gets 0 with "Not
  answered in the interview" whatever the model said, since there was nothing to judge; the
  model's own overall_score is kept as given, not recomputed;
- no overall_score: ten times the mean of the question scores the model did give;
- no (or unrecognisable) recommendation: derived from the overall score (80/60/40 bands);
- question ids not in the interview are dropped; the first score for an id wins;
- the output is unusable (→ repair, then failure) when it holds no JSON object, or neither an
  overall score nor any score for a known question.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from app.ai import offline
from app.ai.errors import EvaluationFailedError
from app.ai.json_output import clamp_int, extract_json_object, parse_number
from app.ai.openai_client import chat_completion
from app.ai.prompts.evaluation import EVALUATION_REPAIR_PROMPT, build_evaluation_messages
from app.ai.schemas import (
    EvaluationInput,
    EvaluationResult,
    QuestionAnswers,
    QuestionScore,
    Recommendation,
    recommendation_for,
)
from app.core.config import get_settings

__all__ = [
    "EvaluationInput",
    "EvaluationResult",
    "QuestionAnswers",
    "QuestionScore",
    "evaluate_interview",
    "parse_evaluation",
]

logger = logging.getLogger(__name__)

EVALUATION_TEMPERATURE = 0.2
EVALUATION_MAX_TOKENS = 2000
REPAIR_ECHO_CHARS = 4000
COMMENT_CHARS = 2000
SUMMARY_CHARS = 4000
NOT_ASSESSED = "Not assessed by the model."
NOT_ANSWERED = "Not answered in the interview."
NO_SUMMARY = "The model gave no summary; see the question scores and the transcript."
FAILED_DETAIL = (
    "The AI evaluation could not be read, even after a retry. Run the evaluation again, "
    "or review the transcript directly."
)

_OVERALL_KEYS = ("overall_score", "overall", "score", "total_score", "rating")
_SCORES_KEYS = ("question_scores", "scores", "questions", "per_question", "question_evaluations")
_COMMENT_KEYS = ("comment", "comments", "feedback", "reason", "rationale", "justification")
_NEGATIVE = {"no", "not", "don't", "dont", "do_not", "reject", "decline", "against", "avoid"}
_POSITIVE = {"hire", "hired", "yes", "recommend", "recommended", "advance", "proceed", "accept"}
_STRONG = {"strong", "strongly", "definitely", "definite", "highly", "absolutely"}


def map_recommendation(value: Any) -> Recommendation | None:
    """One of the four recommendations from the model's wording ("Strong Hire", "no-hire", …)."""
    if not isinstance(value, str):
        return None
    words = set(re.findall(r"[a-z']+", value.lower().replace("_", " ").replace("-", " ")))
    strong = bool(words & _STRONG)
    if words & _NEGATIVE:
        return "strong_no_hire" if strong else "no_hire"
    if words & _POSITIVE:
        return "strong_hire" if strong else "hire"
    return None


def _question_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        match = re.search(r"\d+", value)
        return int(match.group()) if match else None
    return None


def _first(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None


def _score_items(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, dict):  # {"12": 7} or {"12": {"score": 7, ...}}
        return [
            {"question_id": key, **(value if isinstance(value, dict) else {"score": value})}
            for key, value in raw.items()
        ]
    if isinstance(raw, list):
        return [item for item in raw if isinstance(item, dict)]
    return []


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return text.strip()[:limit]


def parse_evaluation(text: str, inp: EvaluationInput) -> EvaluationResult | None:
    """The rubric in a model reply, made valid (see the module doc), or None when unusable."""
    data = extract_json_object(text)
    if data is None:
        return None
    if len(data) == 1 and isinstance(nested := next(iter(data.values())), dict):
        data = nested  # {"evaluation": {...}}
    known: dict[int, QuestionAnswers] = {qa.question_id: qa for qa in inp.questions}

    scored: dict[int, QuestionScore] = {}
    for item in _score_items(_first(data, _SCORES_KEYS)):
        qid = _question_id(item.get("question_id", item.get("id")))
        if qid is None or qid not in known or qid in scored:
            continue
        score = parse_number(_first(item, ("score", "rating", "points")), scale=10)
        if score is None:
            continue
        comment = _text(_first(item, _COMMENT_KEYS), COMMENT_CHARS) or "No comment from the model."
        scored[qid] = QuestionScore(question_id=qid, score=clamp_int(score, 0, 10), comment=comment)

    overall = parse_number(_first(data, _OVERALL_KEYS), scale=100)
    if overall is None:
        if not scored:
            return None
        overall = sum(q.score for q in scored.values()) / len(scored) * 10
    overall_score = clamp_int(overall, 0, 100)

    question_scores = []
    for qa in sorted(inp.questions, key=lambda q: q.order):
        answered = any(a.strip() for a in qa.answers)
        if qa.question_id in scored and answered:
            question_scores.append(scored[qa.question_id])
        else:
            comment = NOT_ASSESSED if answered else NOT_ANSWERED
            question_scores.append(
                QuestionScore(question_id=qa.question_id, score=0, comment=comment)
            )
    return EvaluationResult(
        overall_score=overall_score,
        recommendation=map_recommendation(data.get("recommendation"))
        or recommendation_for(overall_score),
        summary=_text(data.get("summary"), SUMMARY_CHARS) or NO_SUMMARY,
        question_scores=question_scores,
        method="llm",
    )


async def evaluate_interview(inp: EvaluationInput) -> EvaluationResult:
    """Score the interview. Raises AIUnavailableError (provider failed) or EvaluationFailedError."""
    if get_settings().llm_provider == "offline":
        return offline.heuristic_evaluation(inp)
    messages = build_evaluation_messages(inp)
    raw = await chat_completion(
        messages,
        temperature=EVALUATION_TEMPERATURE,
        max_tokens=EVALUATION_MAX_TOKENS,
        json_mode=True,
    )
    result = parse_evaluation(raw, inp)
    if result is not None:
        return result
    logger.warning("evaluation reply unusable (%d chars); asking the model once more", len(raw))
    repair = [
        *messages,
        {"role": "assistant", "content": raw[:REPAIR_ECHO_CHARS]},
        {"role": "user", "content": EVALUATION_REPAIR_PROMPT},
    ]
    raw = await chat_completion(
        repair, temperature=0.0, max_tokens=EVALUATION_MAX_TOKENS, json_mode=True
    )
    result = parse_evaluation(raw, inp)
    if result is None:
        logger.warning("evaluation reply unusable after the repair request (%d chars)", len(raw))
        raise EvaluationFailedError(FAILED_DETAIL)
    return result
