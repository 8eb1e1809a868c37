"""Prompts for drafting a job's interview questions."""

from __future__ import annotations

from app.ai.prompts.common import job_block

QUESTION_SYSTEM_PROMPT = """\
You are an experienced hiring manager who writes interview questions for a live, text-based \
first-round job interview held by an AI interviewer."""


def build_question_messages(
    job_title: str, job_description: str, skills: list[str], count: int
) -> list[dict[str, str]]:
    """Messages asking for `count` interview questions as JSON {"questions": [...]}."""
    user = (
        f"Write {count} interview questions for this role.\n\n"
        f"{job_block(job_title, job_description, skills)}\n\n"
        "Guidelines: one question per item, each answerable in a few minutes of typing; start "
        "with the candidate's background, then cover the key skills with questions that ask "
        "for concrete past examples (what they did, how, with what result), and include one "
        "question on teamwork or communication. No duplicates, no multi-part lists, no "
        "numbering.\n\n"
        f'Reply with JSON only, exactly of this shape: {{"questions": ["...", "..."]}} with '
        f"{count} strings."
    )
    return [
        {"role": "system", "content": QUESTION_SYSTEM_PROMPT},
        {"role": "user", "content": user},
    ]
