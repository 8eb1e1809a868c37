"""Evaluation of a finished interview: queued after `end`/`complete`, run by Celery workers
(`EVALUATION_BACKEND=celery`) or as an in-process asyncio task (`inprocess`, the embedded
default: Celery's eager mode would block the event loop)."""

from __future__ import annotations

import logging

from sqlmodel import col, select

from app.ai.chains.evaluation_chain import EvaluationInput, QuestionAnswers, evaluate_interview
from app.ai.errors import AIUnavailableError, EvaluationFailedError
from app.core.config import get_settings
from app.core.database import session_factory
from app.models import Evaluation, EvaluationStatus, InterviewAnswer, utcnow
from app.services.interview_session import load_record

logger = logging.getLogger("app.evaluation")


async def queue_evaluation(interview_id: int) -> None:
    """Mark the evaluation pending and hand it to the configured backend."""
    async with session_factory()() as db:
        evaluation = (
            await db.exec(select(Evaluation).where(Evaluation.interview_id == interview_id))
        ).first()
        if evaluation is None:
            evaluation = Evaluation(interview_id=interview_id)
        evaluation.status = EvaluationStatus.PENDING
        evaluation.detail = None
        evaluation.updated_at = utcnow()
        db.add(evaluation)
        await db.commit()
    if get_settings().evaluation_backend == "celery":
        from app.tasks.evaluation import evaluate_interview_task

        evaluate_interview_task.delay(interview_id)
    else:
        from app.services.lifecycle import spawn

        spawn(run_evaluation(interview_id), name=f"evaluation-{interview_id}")


async def build_input(interview_id: int) -> EvaluationInput | None:
    record = await load_record(interview_id)
    if record is None:
        return None
    async with session_factory()() as db:
        answers = (
            await db.exec(
                select(InterviewAnswer)
                .where(InterviewAnswer.interview_id == interview_id)
                .order_by(col(InterviewAnswer.id))
            )
        ).all()
    job, candidate, questions, rows = record.job, record.candidate, record.questions, record.rows
    by_question: dict[int | None, list[str]] = {}
    for answer in answers:
        by_question.setdefault(answer.question_id, []).append(answer.content)
    return EvaluationInput(
        candidate_name=candidate.full_name if candidate else "",
        job_title=job.title if job else "",
        job_description=job.description if job else "",
        job_skills=list(job.skills) if job else [],
        resume_text=candidate.resume_text if candidate else "",
        questions=[
            QuestionAnswers(
                question_id=q.id,  # type: ignore[arg-type]
                order=q.order,
                text=q.text,
                answers=by_question.get(q.id, []),
            )
            for q in questions
        ],
        transcript=[{"role": r.role.value, "content": r.content} for r in rows],
    )


async def run_evaluation(interview_id: int) -> EvaluationStatus:
    """Score the transcript and store the result; failures are recorded, never hidden."""
    inp = await build_input(interview_id)
    status = EvaluationStatus.FAILED
    detail: str | None = None
    result = None
    if inp is None:
        detail = "The interview no longer exists."
    else:
        try:
            result = await evaluate_interview(inp)
            status = EvaluationStatus.DONE
        except EvaluationFailedError as exc:
            detail = exc.detail
        except AIUnavailableError:
            logger.warning("interview %s: evaluation provider unavailable", interview_id)
            detail = "The AI provider was unavailable; run the evaluation again later."
    async with session_factory()() as db:
        evaluation = (
            await db.exec(select(Evaluation).where(Evaluation.interview_id == interview_id))
        ).first()
        if evaluation is None:
            if inp is None:
                return status
            evaluation = Evaluation(interview_id=interview_id)
        evaluation.status = status
        evaluation.attempts += 1
        evaluation.updated_at = utcnow()
        evaluation.detail = detail
        if result is not None:
            evaluation.method = result.method
            evaluation.overall_score = result.overall_score
            evaluation.recommendation = result.recommendation
            evaluation.summary = result.summary
            evaluation.question_scores = [s.model_dump() for s in result.question_scores]
        db.add(evaluation)
        await db.commit()
    logger.info("interview %s: evaluation %s", interview_id, status.value)
    return status
