"""The offline provider: no model, no network, deterministic.

A scripted interviewer (greeting, varied acknowledgements, one follow-up probe, polite closing)
streamed word by word, a transparent heuristic evaluation, and template questions. It is what
the embedded default runs when no OpenAI-compatible server is configured.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

from app.ai.schemas import (
    EvaluationInput,
    EvaluationResult,
    InterviewContext,
    QuestionScore,
    TurnPlan,
    recommendation_for,
)

# -------------------------------------------------------------------------------------------
# scripted interviewer

ACKNOWLEDGEMENTS = (
    "Thank you, that's helpful.",
    "Thanks for walking me through that.",
    "That's useful context, thank you.",
    "Got it, thanks for the detail.",
    "I appreciate the clear picture.",
    "Thanks, that gives me a good sense of your approach.",
    "Understood, thank you.",
    "Great, thanks for sharing that.",
)
# Used before a follow-up probe: the answer was thin, so no praise for its detail.
BRIEF_ACKNOWLEDGEMENTS = (
    "Thanks.",
    "Okay, thank you.",
    "Noted, thanks.",
    "Thank you for that.",
)
TRANSITIONS = (
    "Next question:",
    "Let's move on.",
    "Here's my next question.",
    "Moving on.",
    "Let's turn to something else.",
)
FINAL_TRANSITION = "And my last question:"
FOLLOW_UP_PROBES = (
    "Could you go a bit deeper on that? Walk me through a specific situation: what you did "
    "yourself, and how it turned out.",
    "Can you give me a concrete example, with the situation, your own part in it, and the result?",
    "I'd like to hear a little more. What is one specific time this came up, and what did you do?",
)


def _stable_index(*parts: object, modulo: int) -> int:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") % modulo


def _recent_ai_texts(ctx: InterviewContext, count: int = 2) -> list[str]:
    return [e.get("content", "") for e in ctx.history if e.get("role") == "ai"][-count:]


def _pick(options: Sequence[str], seed: tuple[object, ...], avoid: list[str]) -> str:
    """A deterministic choice from `options` that none of the texts in `avoid` starts with."""
    start = _stable_index(*seed, modulo=len(options))
    for step in range(len(options)):
        choice = options[(start + step) % len(options)]
        if not any(text.lstrip().startswith(choice) for text in avoid):
            return choice
    return options[start]


def _name(ctx: InterviewContext) -> str:
    return ctx.candidate_name.strip() or "there"


def _role(ctx: InterviewContext) -> str:
    return f"the {ctx.job_title.strip()} role" if ctx.job_title.strip() else "this role"


def closing_text(ctx: InterviewContext, reason: str | None) -> str:
    """A polite closing that asks nothing (no question mark)."""
    name = ctx.candidate_name.strip()
    thanks = f"Thank you, {name}," if name else "Thank you"
    if reason == "time_up":
        opening = "We've reached the end of our scheduled time, so let's stop here."
    elif reason == "ended":
        opening = "The interview has now ended."
    else:
        opening = "That was my last question."
    return (
        f"{opening} {thanks} for your time and your answers today. The HR team will review "
        "the interview and be in touch with you about next steps. Best of luck!"
    )


def interview_text(ctx: InterviewContext, plan: TurnPlan) -> str:
    """The scripted interviewer's full reply for one turn."""
    if plan.kind == "closing":
        return closing_text(ctx, plan.closing_reason)
    question = (plan.question_text or "").strip()
    if plan.kind == "greeting":
        minutes = (
            f" We have about {ctx.time_remaining_min} minutes for {len(ctx.questions)} "
            "questions, so take your time and answer as you would in person."
            if ctx.time_remaining_min > 0 and ctx.questions
            else ""
        )
        return (
            f"Hello {_name(ctx)}, and welcome to your interview for {_role(ctx)}. "
            f"I'm the HireEz interviewer.{minutes} Let's begin. {question}"
        ).strip()
    answer = plan.candidate_message or ""
    turn = len(ctx.history)
    recent = _recent_ai_texts(ctx)
    if plan.is_follow_up:
        ack = _pick(BRIEF_ACKNOWLEDGEMENTS, (answer, turn), recent)
        probe = FOLLOW_UP_PROBES[_stable_index(answer, turn, "probe", modulo=len(FOLLOW_UP_PROBES))]
        return f"{ack} {probe}"
    ack = _pick(ACKNOWLEDGEMENTS, (answer, turn), recent)
    is_last = plan.question_index is not None and plan.question_index == len(ctx.questions) - 1
    transition = (
        FINAL_TRANSITION
        if is_last and len(ctx.questions) > 1
        else TRANSITIONS[(plan.question_index or 0) % len(TRANSITIONS)]
    )
    return f"{ack} {transition} {question}".strip()


def word_pieces(text: str) -> list[str]:
    """Word-sized pieces (each word with its trailing space) that join back to `text`."""
    return re.findall(r"\S+\s*|\s+", text)


async def stream_interview_text(
    ctx: InterviewContext, plan: TurnPlan, *, words_per_sec: float
) -> AsyncGenerator[str, None]:
    """The scripted reply, word by word, 1/words_per_sec seconds apart (0: no delay).

    Like a model's stream read over the network, a consumer that comes back late gets every
    word due by then in one piece: the words keep their pace from the reply's start."""
    words = word_pieces(interview_text(ctx, plan))
    if words_per_sec <= 0:
        for piece in words:
            yield piece
        return
    delay = 1.0 / words_per_sec
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    while sent < len(words):
        due = min(len(words), max(sent + 1, int((loop.time() - start) / delay) + 1))
        yield "".join(words[sent:due])
        sent = due
        if sent < len(words):
            await asyncio.sleep(max(0.0, start + sent * delay - loop.time()))


# -------------------------------------------------------------------------------------------
# heuristic evaluation

_EXAMPLE_MARKERS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\bfor (?:example|instance)\b",
        r"\bsuch as\b",
        r"\bwe\b",
        r"\bour team\b",
        r"\bmy team\b",
        r"\bI (?:led|built|designed|implemented|wrote|created|managed|owned|migrated|"
        r"improved|reduced|increased|launched|shipped|fixed|delivered)\b",
        r"\bwhen I\b",
        r"\bat my (?:last|previous|current)\b",
        r"\bin my (?:last|previous|current)\b",
    )
)
_FIGURE = re.compile(r"\d+(?:[.,]\d+)?\s*%?")
WORDS_FOR_FULL_LENGTH = 80


def _skill_mentioned(skill: str, text: str) -> bool:
    pattern = r"(?<![\w])" + re.escape(skill.strip()) + r"(?![\w])"
    return bool(skill.strip()) and re.search(pattern, text, re.IGNORECASE) is not None


@dataclass
class _AnswerFacts:
    words: int
    example: bool
    figures: int
    skills: list[str]


def _score_answer(text: str, skills: list[str]) -> tuple[int, str, _AnswerFacts]:
    words = len(text.split())
    if words == 0:
        return 0, "Not answered.", _AnswerFacts(words=0, example=False, figures=0, skills=[])
    examples = sum(1 for marker in _EXAMPLE_MARKERS if marker.search(text))
    figures = len(set(_FIGURE.findall(text)))
    mentioned = [s.strip() for s in skills if _skill_mentioned(s, text)]
    points = (
        4.0 * min(words, WORDS_FOR_FULL_LENGTH) / WORDS_FOR_FULL_LENGTH
        + min(examples, 2)
        + min(figures, 2)
        + min(len(mentioned), 2)
    )
    score = max(0, min(10, round(points)))
    notes = [f"{words} words", "a concrete example" if examples else "no concrete example"]
    notes.append(f"{figures} figure{'s' if figures != 1 else ''}" if figures else "no figures")
    notes.append("mentions " + ", ".join(mentioned) if mentioned else "no role skills named")
    facts = _AnswerFacts(words=words, example=bool(examples), figures=figures, skills=mentioned)
    return score, "Heuristic: " + "; ".join(notes) + ".", facts


def heuristic_evaluation(inp: EvaluationInput) -> EvaluationResult:
    """Score answers by their shape: length, concrete examples, figures, the job's skills named.

    Transparent and model-free (method="heuristic"); HR should read it as a rough signal only.
    """
    skills = [s for s in inp.job_skills if s and s.strip()]
    question_scores: list[QuestionScore] = []
    facts: list[_AnswerFacts] = []
    for qa in sorted(inp.questions, key=lambda q: q.order):
        text = "\n".join(a for a in qa.answers if a and a.strip())
        score, comment, fact = _score_answer(text, skills)
        question_scores.append(
            QuestionScore(question_id=qa.question_id, score=score, comment=comment)
        )
        facts.append(fact)
    if question_scores:
        mean = sum(q.score for q in question_scores) / len(question_scores)
    else:  # no planned questions: judge everything the candidate said as one answer
        said = "\n".join(
            e.get("content", "") for e in inp.transcript if e.get("role") == "candidate"
        )
        score, _, fact = _score_answer(said, skills)
        mean, facts = float(score), [fact]
    overall = max(0, min(100, round(mean * 10)))

    answered = [f for f in facts if f.words]
    avg_words = round(sum(f.words for f in answered) / len(answered)) if answered else 0
    named = sorted({s for f in facts for s in f.skills})
    who = inp.candidate_name.strip() or "The candidate"
    summary = (
        f"Automatic heuristic assessment (no AI model was used). {who} answered "
        f"{len(answered)} of {len(facts)} question{'s' if len(facts) != 1 else ''}, about "
        f"{avg_words} words per answer; concrete examples in "
        f"{sum(1 for f in facts if f.example)}, figures in "
        f"{sum(1 for f in facts if f.figures)}. Role skills mentioned: "
        f"{', '.join(named) if named else 'none'}. This measures the shape of the answers, not "
        "their substance: read the transcript before deciding."
    )
    return EvaluationResult(
        overall_score=overall,
        recommendation=recommendation_for(overall),
        summary=summary,
        question_scores=question_scores,
        method="heuristic",
    )


# -------------------------------------------------------------------------------------------
# template questions

_SKILL_TEMPLATES = (
    "Can you describe a project where you used {skill}? What was your part in it, and how did "
    "it turn out?",
    "What is the hardest problem you have solved with {skill}, and how did you approach it?",
    "How do you keep your {skill} work reliable and easy for others to build on? Please give "
    "an example.",
)
_TEAMWORK = "Tell me about a time you disagreed with a teammate. How did you resolve it?"
_GENERIC = (
    "Describe a mistake you made at work and what you learned from it.",
    "Tell me about a time you had to learn something new quickly. How did you go about it?",
    "How do you prioritise when several urgent tasks land at once? Please give an example.",
    "Describe a piece of work you are especially proud of. What made it succeed?",
    "Tell me about a time you received difficult feedback. What did you do with it?",
    "What would you aim to achieve in your first three months in {role}?",
    "How do you explain a complex topic from your field to someone outside it?",
    "Tell me about a time a project did not go to plan. What did you do?",
    "How do you keep the quality of your work high under time pressure?",
    "Describe a situation where you took the initiative without being asked.",
    "What kind of team and working environment help you do your best work?",
    "Tell me about a decision you made with incomplete information. How did it turn out?",
    "How do you keep your skills up to date? Give a recent example.",
    "Which part of {role} do you expect to find most challenging, and how would you prepare?",
    "Tell me about a time you helped a colleague succeed.",
    "Describe how you handle a deadline that you realise you cannot meet.",
    "What does a good working relationship with your manager look like to you?",
    "Tell me about a process you improved. What changed as a result?",
    "Is there anything in your experience we have not covered that matters for {role}?",
)


def _clean_skills(skills: list[str]) -> list[str]:
    seen: set[str] = set()
    cleaned = []
    for skill in skills:
        name = " ".join(skill.split())
        if name and name.lower() not in seen:
            seen.add(name.lower())
            cleaned.append(name)
    return cleaned


def template_questions(job_title: str, skills: list[str], count: int) -> list[str]:
    """Up to `count` questions from templates: background, each skill, teamwork, then general.

    The pool holds 21 + 3 per skill questions; a larger `count` gets the whole pool.
    """
    if count <= 0:
        return []
    role = f"the {job_title.strip()} role" if job_title.strip() else "this role"
    names = _clean_skills(skills)
    intro = (
        f"To start, could you tell me a little about your background and what draws you to {role}?"
    )
    first_pass = [_SKILL_TEMPLATES[0].format(skill=s) for s in names]
    head = first_pass[: max(count - 2, 0)]
    rest_skills = [t.format(skill=s) for t in _SKILL_TEMPLATES[1:] for s in names]
    generic = [g.format(role=role) for g in _GENERIC]
    tail: list[str] = []
    for i in range(max(len(rest_skills), len(generic))):  # interleave skill depth and general
        if i < len(generic):
            tail.append(generic[i])
        if i < len(rest_skills):
            tail.append(rest_skills[i])
    ordered = [intro, *head, _TEAMWORK, *first_pass[len(head) :], *tail]
    return ordered[:count]
