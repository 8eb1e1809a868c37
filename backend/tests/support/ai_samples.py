"""Sample inputs for the AI-layer tests: one job, one candidate, a few planned questions."""

from __future__ import annotations

from app.ai.schemas import (
    EvaluationInput,
    InterviewContext,
    QuestionAnswers,
    TurnPlan,
)

JOB_TITLE = "Backend Engineer"
JOB_DESCRIPTION = "Build and run the payments API; own reliability of the ledger service."
JOB_SKILLS = ["Python", "PostgreSQL", "Kubernetes"]
RESUME = "Ada Lovelace. 6 years at Analytical Engines Ltd building a ledger in Python."
CANDIDATE = "Ada Lovelace"
QUESTIONS = [
    "Tell me about your background in backend development?",
    "Describe a production incident you handled with PostgreSQL.",
    "How do you deploy services to Kubernetes safely?",
]


def make_ctx(
    history: list[dict[str, str]] | None = None,
    *,
    questions: list[str] | None = None,
    time_remaining_min: int = 25,
) -> InterviewContext:
    return InterviewContext(
        candidate_name=CANDIDATE,
        job_title=JOB_TITLE,
        job_description=JOB_DESCRIPTION,
        job_skills=list(JOB_SKILLS),
        resume_text=RESUME,
        questions=list(questions if questions is not None else QUESTIONS),
        history=list(history or []),
        time_remaining_min=time_remaining_min,
    )


def greeting_plan() -> TurnPlan:
    return TurnPlan(kind="greeting", question_index=0, question_text=QUESTIONS[0])


def next_question_plan(index: int, answer: str) -> TurnPlan:
    return TurnPlan(
        kind="response",
        question_index=index,
        question_text=QUESTIONS[index],
        candidate_message=answer,
    )


def follow_up_plan(index: int, answer: str) -> TurnPlan:
    return TurnPlan(
        kind="response",
        question_index=index,
        question_text=QUESTIONS[index],
        is_follow_up=True,
        candidate_message=answer,
    )


def closing_plan(reason: str = "all_answered", answer: str | None = "Thanks!") -> TurnPlan:
    return TurnPlan(
        kind="closing",
        question_index=None,
        question_text=None,
        candidate_message=answer,
        closing_reason=reason,  # type: ignore[arg-type]
    )


STRONG_ANSWERS = [
    "I have spent six years on backend systems. For example, at my last company I led the "
    "rewrite of our payments API in Python, which cut p99 latency from 900 ms to 120 ms and "
    "we handled 3x the traffic with the same 4 servers.",
    "When I was on call last year, a PostgreSQL replica fell 40 minutes behind. I built a "
    "query to find the long transaction, we killed it, and I added an alert at 30 seconds of "
    "lag; since then we have had zero lag incidents.",
    "We deploy with Kubernetes rolling updates and readiness probes. I designed our canary "
    "step: 5% of traffic for 10 minutes, automatic rollback on a 1% error rate. For instance, "
    "it caught a bad migration in March before any customer noticed.",
]
WEAK_ANSWERS = ["Some backend.", "Not sure.", "kubectl apply"]


def make_eval_input(answers: list[str], *, ids: tuple[int, ...] = (11, 12, 13)) -> EvaluationInput:
    questions = [
        QuestionAnswers(question_id=qid, order=i, text=QUESTIONS[i], answers=[answers[i]])
        for i, qid in enumerate(ids)
    ]
    transcript: list[dict[str, str]] = []
    for i, answer in enumerate(answers):
        transcript.append({"role": "ai", "content": QUESTIONS[i]})
        transcript.append({"role": "candidate", "content": answer})
    return EvaluationInput(
        candidate_name=CANDIDATE,
        job_title=JOB_TITLE,
        job_description=JOB_DESCRIPTION,
        job_skills=list(JOB_SKILLS),
        resume_text=RESUME,
        questions=questions,
        transcript=transcript,
    )
