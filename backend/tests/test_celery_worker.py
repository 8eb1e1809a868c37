"""Evaluation end to end through a real Celery worker process against real Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from app.core.database import session_factory
from app.models import Evaluation, EvaluationStatus, InterviewStatus
from app.services.interview_conductor_service import InterviewConductorService
from tests.support.factories import make_interview

BACKEND = Path(__file__).resolve().parents[1]


async def test_a_real_worker_scores_the_interview(db, settings_env, standin):
    settings = settings_env(EVALUATION_BACKEND="celery")
    assert settings.REDIS_URL.startswith("redis://")
    setup = await make_interview(db)
    iid = setup.interview.id
    conductor = InterviewConductorService()
    await conductor.start_interview(iid)
    [e async for e in conductor.stream_greeting(iid)]
    await conductor.process_message(iid, "I led a team of four through a Postgres upgrade", "c1")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "app.tasks.celery_app",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=BACKEND,
        env={**os.environ, "EVALUATION_BACKEND": "celery"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        from app.tasks import celery_app as celery_module

        # the app's Celery producer must point at the same Redis as the worker
        assert celery_module.celery_app.conf.broker_url == settings.REDIS_URL
        assert await conductor.end_interview(iid) is not None  # queues the evaluation
        status = None
        for _ in range(600):
            async with session_factory()() as s:
                evaluation = (
                    await s.exec(select(Evaluation).where(Evaluation.interview_id == iid))
                ).one()
            status = evaluation.status
            if status != EvaluationStatus.PENDING:
                break
            await asyncio.sleep(0.1)
        assert status == EvaluationStatus.DONE, worker_log(worker)
        assert evaluation.method == "llm" and evaluation.overall_score == 72
        assert any(r["path"] == "/v1/chat/completions" for r in standin.requests())
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
    async with session_factory()() as s:
        from app.models import Interview

        interview = await s.get(Interview, iid)
        assert interview is not None and interview.status == InterviewStatus.COMPLETED


def worker_log(worker: subprocess.Popen[bytes]) -> str:
    worker.terminate()
    out, _ = worker.communicate(timeout=10)
    return out.decode(errors="replace")[-3000:]
