"""Benchmark data: N candidates, each with a user, an interview and Q planned questions.

Run from backend/ (it imports the app's models) with the benchmark's DATABASE_URL, after
`alembic upgrade head`:

    DATABASE_URL=... python ../bench/seed_data.py --count 3000 --out creds.json

Candidates log in for real during the run, so their password hash uses bcrypt's lowest cost
(4 rounds, ~1 ms) instead of the default 12 (~250 ms): logging 1000 candidates in must not
take minutes. Interviews get many questions and a long duration so that none completes
during a run (a completed one would close its socket and queue an evaluation).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import warnings

import bcrypt
from sqlalchemy import insert

from app.core.config import get_settings
from app.core.database import dispose_database, init_database, session_factory
from app.models import Candidate, Interview, InterviewQuestion, Job, Role, User

QUESTIONS = [
    "Tell me about a backend system you designed.",
    "How do you keep a database fast as traffic grows?",
    "Describe a production incident you handled.",
    "How do you decide what to test?",
]


async def seed(count: int, questions: int) -> list[dict[str, object]]:
    password = secrets.token_urlsafe(12)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    tag = secrets.token_hex(4)
    async with session_factory()() as db:
        hr = User(
            email=f"bench-hr-{tag}@bench.local",
            full_name="Bench HR",
            hashed_password=hashed,
            role=Role.HR_MANAGER,
        )
        db.add(hr)
        await db.flush()
        job = Job(
            title="Backend Engineer",
            description="Python services behind an interview platform.",
            skills=["python", "postgresql", "redis"],
            created_by=hr.id,
        )
        db.add(job)
        await db.flush()
        users = [
            User(
                email=f"bench-{tag}-{i}@bench.local",
                full_name=f"Bench Candidate {i}",
                hashed_password=hashed,
                role=Role.CANDIDATE,
            )
            for i in range(count)
        ]
        db.add_all(users)
        await db.flush()
        candidates = [
            Candidate(user_id=u.id, full_name=u.full_name, resume_text="Backend engineer, 5 years.")
            for u in users
            if u.id is not None
        ]
        db.add_all(candidates)
        await db.flush()
        interviews = [
            Interview(job_id=job.id, candidate_id=c.id, duration_min=600, created_by=hr.id)
            for c in candidates
            if c.id is not None and job.id is not None
        ]
        db.add_all(interviews)
        await db.flush()
        rows = [
            {"interview_id": iv.id, "order": q, "text": f"{QUESTIONS[q % len(QUESTIONS)]} ({q})"}
            for iv in interviews
            for q in range(questions)
        ]
        for start in range(0, len(rows), 5000):
            await db.execute(insert(InterviewQuestion), rows[start : start + 5000])
        await db.commit()
        return [
            {"email": u.email, "password": password, "interview_id": iv.id}
            for u, iv in zip(users, interviews, strict=True)
        ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    init_database(get_settings())
    try:
        creds = await seed(args.count, args.questions)
    finally:
        await dispose_database()
    with open(args.out, "w") as fh:
        json.dump(creds, fh)


if __name__ == "__main__":
    asyncio.run(main())
