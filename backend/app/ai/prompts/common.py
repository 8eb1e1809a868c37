"""Shared prompt pieces: bounded excerpts of free text supplied by users."""

from __future__ import annotations

RESUME_CHARS = 6000
JOB_DESCRIPTION_CHARS = 4000


def excerpt(text: str, limit: int) -> str:
    """`text` trimmed to `limit` characters, marked when cut (keeps prompts bounded)."""
    text = (text or "").strip()
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + " […truncated]"


def job_block(title: str, description: str, skills: list[str]) -> str:
    skills_line = ", ".join(s.strip() for s in skills if s.strip()) or "(none listed)"
    description = excerpt(description, JOB_DESCRIPTION_CHARS) or "(no description)"
    return f"Role: {title}\nKey skills: {skills_line}\nJob description:\n{description}"


def resume_block(resume_text: str) -> str:
    return excerpt(resume_text, RESUME_CHARS) or "(no resume provided)"
