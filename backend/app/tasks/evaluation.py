"""Celery task: evaluate an interview in the worker (a fresh event loop per task)."""

from __future__ import annotations

import asyncio

from app.tasks.celery_app import celery_app


async def _run(interview_id: int) -> str:
    from app.ai.openai_client import close_openai_clients
    from app.core.config import get_settings
    from app.core.database import dispose_database, init_database
    from app.services.evaluation_service import run_evaluation

    init_database(get_settings())
    try:
        status = await run_evaluation(interview_id)
    finally:
        await close_openai_clients()  # its HTTP session belongs to this task's loop
        await dispose_database()
    return status.value


@celery_app.task(name="hireez.evaluate_interview", bind=True, max_retries=0)  # type: ignore[untyped-decorator]
def evaluate_interview_task(self: object, interview_id: int) -> str:
    return asyncio.run(_run(interview_id))
