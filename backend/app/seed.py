"""Demo data for `make run`: an admin, an HR manager, two candidates, a job, two interviews.

Idempotent (run it as often as you like). Demo passwords are fixed and printed, so this
refuses to run outside the embedded default unless `--force` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlmodel import select

from app.ai import local_llm
from app.core.config import get_settings
from app.core.database import dispose_database, init_database, session_factory
from app.core.security import hash_password
from app.models import Candidate, Interview, InterviewQuestion, Job, Role, User

DEMO_USERS = [
    ("admin@hireez.local", "demo-admin-123", "Avery Admin", Role.SUPER_ADMIN),
    ("hr@hireez.local", "demo-hr-123", "Harper HR", Role.HR_MANAGER),
    ("interviewer@hireez.local", "demo-interviewer-123", "Ira Interviewer", Role.INTERVIEWER),
    ("alice@hireez.local", "demo-alice-123", "Alice Candidate", Role.CANDIDATE),
    ("bob@hireez.local", "demo-bob-123", "Bob Candidate", Role.CANDIDATE),
]
RESUMES = {
    "alice@hireez.local": (
        "Backend engineer, 6 years. Python, FastAPI, PostgreSQL, Redis. Led the migration of a "
        "payments service to async workers, cutting p99 latency from 900 ms to 120 ms."
    ),
    "bob@hireez.local": (
        "Full-stack developer, 3 years. TypeScript, React, Node.js, some Python. Built an "
        "internal analytics dashboard used by 200 people; mentors two juniors."
    ),
}
JOB = {
    "title": "Backend Engineer",
    "description": "Design, build and run the Python services behind our interview platform.",
    "skills": ["python", "fastapi", "postgresql", "redis", "testing"],
}
QUESTIONS = [
    "Tell me about a backend system you designed and what you would change about it today.",
    "How do you keep a PostgreSQL database fast as data and traffic grow?",
    "Describe a production incident you handled: what happened and what did you change after?",
    "How do you decide what to test, and how do you keep a test suite trustworthy?",
]


async def seed() -> list[tuple[str, str, str]]:
    logins: list[tuple[str, str, str]] = []
    async with session_factory()() as db:
        users: dict[str, User] = {}
        for email, password, name, role in DEMO_USERS:
            user = (await db.exec(select(User).where(User.email == email))).first()
            if user is None:
                user = User(
                    email=email, full_name=name, role=role, hashed_password=hash_password(password)
                )
                db.add(user)
                await db.flush()
            users[email] = user
            logins.append((role.value, email, password))
        job = (await db.exec(select(Job).where(Job.title == JOB["title"]))).first()
        if job is None:
            job = Job(
                title=str(JOB["title"]),
                description=str(JOB["description"]),
                skills=list(JOB["skills"]),
                created_by=users["hr@hireez.local"].id,
            )
            db.add(job)
            await db.flush()
        for email, resume in RESUMES.items():
            user = users[email]
            candidate = (
                await db.exec(select(Candidate).where(Candidate.user_id == user.id))
            ).first()
            if candidate is None:
                candidate = Candidate(
                    user_id=user.id,  # type: ignore[arg-type]
                    full_name=user.full_name,
                    resume_text=resume,
                )
                db.add(candidate)
                await db.flush()
            has_interview = (
                await db.exec(select(Interview).where(Interview.candidate_id == candidate.id))
            ).first()
            if has_interview is None:
                interview = Interview(
                    job_id=job.id,  # type: ignore[arg-type]
                    candidate_id=candidate.id,  # type: ignore[arg-type]
                    duration_min=30,
                    created_by=users["hr@hireez.local"].id,
                )
                db.add(interview)
                await db.flush()
                for order, text in enumerate(QUESTIONS):
                    db.add(InterviewQuestion(interview_id=interview.id, order=order, text=text))  # type: ignore[arg-type]
        await db.commit()
    return logins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="seed outside the embedded default")
    parser.add_argument("--host", default="127.0.0.1", help="where the app will listen (printed)")
    parser.add_argument("--port", default="8000", help="the app's port (printed)")
    args = parser.parse_args()
    settings = get_settings()
    if not settings.is_embedded and not args.force:
        print("seed: not the embedded default; demo accounts not created (use --force).")
        return

    async def _go() -> list[tuple[str, str, str]]:
        init_database(settings)
        try:
            return await seed()
        finally:
            await dispose_database()

    logins = asyncio.run(_go())
    base = f"http://{args.host}:{args.port}"
    out = sys.stdout
    out.write(f"\nHireEz demo accounts (log in at {base}):\n")
    for role, email, password in logins:
        out.write(f"  {role:<12} {email:<28} {password}\n")
    local_llm.detect_sync(settings)  # the server of `make local-ai`, when nothing else is set
    provider = settings.llm_provider
    out.write(f"\nAI provider: {provider}")
    if provider == "offline":
        out.write(
            " (scripted interviewer; set OPENAI_API_KEY or OPENAI_BASE_URL, or run "
            "`make local-ai`, to use a model)"
        )
    out.write(f"\n  {local_llm.describe_provider(settings)}")
    out.write(f"\nAPI docs: {base}/docs\n\n")


if __name__ == "__main__":
    main()
