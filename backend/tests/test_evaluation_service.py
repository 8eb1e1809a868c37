"""Evaluation after the interview: in-process by default here; failures recorded honestly."""

from __future__ import annotations

from sqlmodel import select

from app.core.database import session_factory
from app.models import Evaluation, EvaluationStatus
from app.services import lifecycle
from app.services.evaluation_service import queue_evaluation, run_evaluation
from app.services.interview_conductor_service import InterviewConductorService
from tests.support.factories import make_interview

ANSWER = "For example, I led the migration of 3 services to PostgreSQL and cut latency by 40%"


async def finished_interview(db) -> int:
    setup = await make_interview(db)
    conductor = InterviewConductorService()
    await conductor.start_interview(setup.interview.id)
    [e async for e in conductor.stream_greeting(setup.interview.id)]
    await conductor.process_message(setup.interview.id, ANSWER, "c1")
    return setup.interview.id


async def evaluation_of(interview_id: int) -> Evaluation:
    async with session_factory()() as db:
        return (
            await db.exec(select(Evaluation).where(Evaluation.interview_id == interview_id))
        ).one()


async def test_offline_evaluation_is_a_marked_heuristic(db, settings_env):
    settings_env(LLM_PROVIDER="offline")
    iid = await finished_interview(db)
    await queue_evaluation(iid)
    assert (await evaluation_of(iid)).status == EvaluationStatus.PENDING
    await lifecycle.drain()
    evaluation = await evaluation_of(iid)
    assert evaluation.status == EvaluationStatus.DONE and evaluation.method == "heuristic"
    assert 0 <= (evaluation.overall_score or -1) <= 100
    assert len(evaluation.question_scores) == 3
    answered = evaluation.question_scores[0]
    assert answered["score"] > 0 and answered["comment"]


async def test_malformed_model_output_is_recorded_as_failed(db, standin):
    iid = await finished_interview(db)
    standin.control(mode="malformed")
    assert await run_evaluation(iid) == EvaluationStatus.FAILED
    evaluation = await evaluation_of(iid)
    assert evaluation.status == EvaluationStatus.FAILED and evaluation.detail
    assert "Traceback" not in evaluation.detail and evaluation.attempts == 1
    standin.control(mode="ok")
    assert await run_evaluation(iid) == EvaluationStatus.DONE  # a rerun can succeed
    assert (await evaluation_of(iid)).attempts == 2


async def test_provider_down_is_failed_with_a_plain_reason(db, standin):
    iid = await finished_interview(db)
    standin.control(mode="fail")
    assert await run_evaluation(iid) == EvaluationStatus.FAILED
    assert "unavailable" in ((await evaluation_of(iid)).detail or "")
