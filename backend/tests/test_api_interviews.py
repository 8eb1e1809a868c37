"""Interviews over REST: create (given or AI-drafted questions), list, read, cancel,
transcript and evaluation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from app.core.redis import get_redis
from app.models import (
    Evaluation,
    EvaluationStatus,
    Interview,
    InterviewQuestion,
    InterviewStatus,
    InterviewTranscript,
    Role,
    TranscriptRole,
    utcnow,
)
from app.services import lifecycle
from app.services.ws_presence import owner_key
from tests.support.api_helpers import API
from tests.support.factories import auth, make_candidate, make_interview, make_job, make_user

STANDIN_QUESTIONS = [
    "Tell me about a project you are proud of.",
    "How do you approach debugging a production issue?",
    "Describe how you work with teammates on a code review.",
]


async def _count(db, model) -> int:
    return (await db.exec(select(func.count()).select_from(model))).one()


async def _staff_and_parts(db, role: Role = Role.HR_MANAGER):
    actor = await make_user(db, role)
    _, candidate = await make_candidate(db)
    job = await make_job(db)
    return actor, candidate, job


# -- create -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.HR_MANAGER])
async def test_create_with_questions(client, db, role):
    actor, candidate, job = await _staff_and_parts(db, role)
    resp = await client.post(
        f"{API}/interviews",
        json={
            "job_id": job.id,
            "candidate_id": candidate.id,
            "questions": ["  First question? ", "Second question?"],
        },
        headers=auth(actor),
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "scheduled"
    assert (body["job_id"], body["candidate_id"], body["duration_min"]) == (
        job.id,
        candidate.id,
        30,
    )
    assert [(q["order"], q["text"]) for q in body["questions"]] == [
        (0, "First question?"),
        (1, "Second question?"),
    ]
    assert body["question_count"] == 2
    assert body["connected"] is False
    assert body["created_by"] == actor.id
    assert body["job_title"] == job.title and body["candidate_name"] == candidate.full_name
    assert body["created_at"].endswith("Z") and body["ended_at"] is None
    rows = (
        await db.exec(
            select(InterviewQuestion)
            .where(InterviewQuestion.interview_id == body["id"])
            .order_by(col(InterviewQuestion.order))
        )
    ).all()
    assert [r.id for r in rows] == [q["id"] for q in body["questions"]]


@pytest.mark.parametrize("minutes", [5, 240, 45])
async def test_create_duration_bounds_are_inclusive(client, db, minutes):
    actor, candidate, job = await _staff_and_parts(db)
    resp = await client.post(
        f"{API}/interviews",
        json={
            "job_id": job.id,
            "candidate_id": candidate.id,
            "questions": ["Q?"],
            "duration_min": minutes,
        },
        headers=auth(actor),
    )
    assert resp.status_code == 201
    assert resp.json()["duration_min"] == minutes


async def test_create_without_questions_drafts_them_through_the_ai(
    client, db, standin, settings_env
):
    settings_env(DEFAULT_QUESTION_COUNT=3)
    actor, candidate, job = await _staff_and_parts(db)
    resp = await client.post(
        f"{API}/interviews",
        json={"job_id": job.id, "candidate_id": candidate.id},
        headers=auth(actor),
    )
    assert resp.status_code == 201, resp.text
    assert [q["text"] for q in resp.json()["questions"]] == STANDIN_QUESTIONS
    chats = [r for r in standin.requests() if r["path"] == "/v1/chat/completions"]
    assert len(chats) == 1
    prompt = " ".join(str(m.get("content")) for m in chats[0]["body"]["messages"])
    assert job.title in prompt


async def test_create_asks_for_the_configured_number_of_questions(
    client, db, standin, settings_env
):
    settings_env(DEFAULT_QUESTION_COUNT=5)
    actor, candidate, job = await _staff_and_parts(db)
    resp = await client.post(
        f"{API}/interviews",
        json={"job_id": job.id, "candidate_id": candidate.id},
        headers=auth(actor),
    )
    assert resp.status_code == 201
    texts = [q["text"] for q in resp.json()["questions"]]
    assert len(texts) == 5 and texts[:3] == STANDIN_QUESTIONS


async def test_create_gives_503_when_the_ai_cannot_draft(client, db, standin):
    standin.control(mode="fail")
    actor, candidate, job = await _staff_and_parts(db)
    resp = await client.post(
        f"{API}/interviews",
        json={"job_id": job.id, "candidate_id": candidate.id},
        headers=auth(actor),
    )
    assert resp.status_code == 503
    assert resp.json() == {
        "detail": "Could not draft questions right now; try again or provide them"
    }
    assert await _count(db, Interview) == 0
    assert await _count(db, InterviewQuestion) == 0


async def test_create_with_questions_never_calls_the_ai(client, db, standin):
    standin.control(mode="fail")
    actor, candidate, job = await _staff_and_parts(db)
    resp = await client.post(
        f"{API}/interviews",
        json={"job_id": job.id, "candidate_id": candidate.id, "questions": ["Why us?"]},
        headers=auth(actor),
    )
    assert resp.status_code == 201
    assert standin.requests() == []


@pytest.mark.parametrize(
    ("which", "detail"), [("job", "Job not found"), ("candidate", "Candidate not found")]
)
async def test_create_with_an_unknown_job_or_candidate_is_404(client, db, which, detail):
    actor, candidate, job = await _staff_and_parts(db)
    body = {"job_id": job.id, "candidate_id": candidate.id, "questions": ["Q?"]}
    body[f"{which}_id"] = 9999
    resp = await client.post(f"{API}/interviews", json=body, headers=auth(actor))
    assert resp.status_code == 404
    assert resp.json() == {"detail": detail}
    assert await _count(db, Interview) == 0


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"questions": [""]}, "questions.0"),
        ({"questions": ["Fine?", "   "]}, "questions.1"),
        ({"questions": []}, "questions"),
        ({"questions": "one question"}, "questions"),
        ({"questions": [None]}, "questions.0"),
        ({"duration_min": 4}, "duration_min"),
        ({"duration_min": 241}, "duration_min"),
        ({"duration_min": "long"}, "duration_min"),
        ({"job_id": None}, "job_id"),
        ({"candidate_id": "x"}, "candidate_id"),
    ],
)
async def test_create_bad_bodies_are_422(client, db, change, fragment):
    actor, candidate, job = await _staff_and_parts(db)
    body = {"job_id": job.id, "candidate_id": candidate.id, "questions": ["Q?"], **change}
    resp = await client.post(f"{API}/interviews", json=body, headers=auth(actor))
    assert resp.status_code == 422
    assert fragment in resp.json()["detail"]
    assert await _count(db, Interview) == 0


@pytest.mark.parametrize("missing", ["job_id", "candidate_id"])
async def test_create_missing_ids_are_422(client, db, missing):
    actor, candidate, job = await _staff_and_parts(db)
    body = {"job_id": job.id, "candidate_id": candidate.id, "questions": ["Q?"]}
    del body[missing]
    resp = await client.post(f"{API}/interviews", json=body, headers=auth(actor))
    assert resp.status_code == 422
    assert resp.json() == {"detail": f"{missing}: Field required"}


@pytest.mark.parametrize("role", [Role.INTERVIEWER, Role.CANDIDATE])
async def test_create_refuses_other_roles(client, db, role):
    actor, candidate, job = await _staff_and_parts(db, role)
    body = {"job_id": job.id, "candidate_id": candidate.id, "questions": ["Q?"]}
    resp = await client.post(f"{API}/interviews", json=body, headers=auth(actor))
    assert resp.status_code == 403
    assert await _count(db, Interview) == 0


# -- list and read ----------------------------------------------------------------------------


async def _backdate(db, interview: Interview, minutes: int) -> None:
    interview.created_at = utcnow() - timedelta(minutes=minutes)
    db.add(interview)
    await db.commit()


async def test_list_newest_first_for_staff_and_own_for_candidates(client, db):
    old = await make_interview(db, candidate_name="Old One")
    new = await make_interview(db, candidate_name="New One")
    await _backdate(db, old.interview, 60)
    for role in (Role.SUPER_ADMIN, Role.HR_MANAGER, Role.INTERVIEWER):
        viewer = await make_user(db, role)
        resp = await client.get(f"{API}/interviews", headers=auth(viewer))
        assert resp.status_code == 200
        assert [i["id"] for i in resp.json()] == [new.interview.id, old.interview.id]
    mine = await client.get(f"{API}/interviews", headers=auth(old.candidate_user))
    assert [i["id"] for i in mine.json()] == [old.interview.id]
    nobody, _ = await make_candidate(db, full_name="No Interviews")
    assert (await client.get(f"{API}/interviews", headers=auth(nobody))).json() == []


async def test_list_needs_a_token(client):
    assert (await client.get(f"{API}/interviews")).status_code == 401


async def test_get_for_staff_shows_the_questions(client, db):
    setup = await make_interview(db)
    viewer = await make_user(db, Role.INTERVIEWER)
    resp = await client.get(f"{API}/interviews/{setup.interview.id}", headers=auth(viewer))
    assert resp.status_code == 200
    body = resp.json()
    assert [q["id"] for q in body["questions"]] == [q.id for q in setup.questions]
    assert body["question_count"] == len(setup.questions)
    assert body["connected"] is False


async def test_get_for_the_owner_hides_the_question_texts(client, db):
    setup = await make_interview(db)
    resp = await client.get(
        f"{API}/interviews/{setup.interview.id}", headers=auth(setup.candidate_user)
    )
    assert resp.status_code == 200
    assert resp.json()["questions"] == []
    assert resp.json()["question_count"] == len(setup.questions)
    listed = await client.get(f"{API}/interviews", headers=auth(setup.candidate_user))
    assert listed.json()[0]["questions"] == []


async def test_get_reports_a_live_candidate_socket(client, db):
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    other = await make_interview(db)
    hr = await make_user(db, Role.HR_MANAGER)
    await get_redis().set(owner_key(setup.interview.id), "conn-1", ex=60)
    resp = await client.get(f"{API}/interviews/{setup.interview.id}", headers=auth(hr))
    assert resp.json()["connected"] is True
    listed = {
        i["id"]: i["connected"]
        for i in (await client.get(f"{API}/interviews", headers=auth(hr))).json()
    }
    assert listed == {setup.interview.id: True, other.interview.id: False}
    await get_redis().delete(owner_key(setup.interview.id))
    resp = await client.get(f"{API}/interviews/{setup.interview.id}", headers=auth(hr))
    assert resp.json()["connected"] is False


async def test_get_refuses_another_candidate(client, db):
    setup = await make_interview(db)
    other, _ = await make_candidate(db, full_name="Nosy Parker")
    resp = await client.get(f"{API}/interviews/{setup.interview.id}", headers=auth(other))
    assert resp.status_code == 403


async def test_get_unknown_interview_is_404(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    resp = await client.get(f"{API}/interviews/31337", headers=auth(hr))
    assert resp.status_code == 404
    assert resp.json() == {"detail": "Interview not found"}


# -- cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [InterviewStatus.SCHEDULED, InterviewStatus.IN_PROGRESS])
async def test_cancel_a_scheduled_or_running_interview(client, db, state):
    setup = await make_interview(db, status=state)
    hr = await make_user(db, Role.HR_MANAGER)
    resp = await client.post(f"{API}/interviews/{setup.interview.id}/cancel", headers=auth(hr))
    assert resp.status_code == 200
    assert resp.json()["status"] == "cancelled"
    assert resp.json()["ended_at"] is not None
    await db.refresh(setup.interview)
    assert setup.interview.status == InterviewStatus.CANCELLED
    assert setup.interview.ended_at is not None


@pytest.mark.parametrize(
    "state", [InterviewStatus.COMPLETED, InterviewStatus.CANCELLED, InterviewStatus.EXPIRED]
)
async def test_cancel_an_ended_interview_is_409(client, db, state):
    setup = await make_interview(db, status=state)
    admin = await make_user(db, Role.SUPER_ADMIN)
    resp = await client.post(f"{API}/interviews/{setup.interview.id}/cancel", headers=auth(admin))
    assert resp.status_code == 409
    await db.refresh(setup.interview)
    assert setup.interview.status == state


async def test_cancel_unknown_is_404_and_others_403(client, db):
    setup = await make_interview(db)
    hr = await make_user(db, Role.HR_MANAGER)
    assert (await client.post(f"{API}/interviews/999/cancel", headers=auth(hr))).status_code == 404
    for user in (await make_user(db, Role.INTERVIEWER), setup.candidate_user):
        resp = await client.post(
            f"{API}/interviews/{setup.interview.id}/cancel", headers=auth(user)
        )
        assert resp.status_code == 403
    await db.refresh(setup.interview)
    assert setup.interview.status == InterviewStatus.SCHEDULED


# -- transcript -------------------------------------------------------------------------------


async def _add_turns(db, interview_id: int) -> None:
    # inserted out of order: the answer must come back ordered by seq
    for seq, role, text in [
        (5, TranscriptRole.CANDIDATE, "I built a payments system."),
        (2, TranscriptRole.AI, "Hello! Tell me about yourself."),
        (9, TranscriptRole.AI, "What was the hardest part?"),
    ]:
        db.add(InterviewTranscript(interview_id=interview_id, seq=seq, role=role, content=text))
    await db.commit()


async def test_transcript_in_seq_order(client, db):
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    other = await make_interview(db)
    await _add_turns(db, setup.interview.id)
    await _add_turns(db, other.interview.id)
    for user in (setup.candidate_user, await make_user(db, Role.INTERVIEWER)):
        resp = await client.get(
            f"{API}/interviews/{setup.interview.id}/transcript", headers=auth(user)
        )
        assert resp.status_code == 200
        body = resp.json()
        assert [(t["seq"], t["role"]) for t in body] == [(2, "ai"), (5, "candidate"), (9, "ai")]
        assert set(body[0]) == {"id", "seq", "role", "content", "created_at"}
        assert body[1]["content"] == "I built a payments system."
        assert len({t["id"] for t in body}) == 3


async def test_transcript_of_a_new_interview_is_empty(client, db):
    setup = await make_interview(db)
    hr = await make_user(db, Role.HR_MANAGER)
    resp = await client.get(f"{API}/interviews/{setup.interview.id}/transcript", headers=auth(hr))
    assert resp.status_code == 200 and resp.json() == []


async def test_transcript_refusals(client, db):
    setup = await make_interview(db)
    other, _ = await make_candidate(db, full_name="Someone Else")
    path = f"{API}/interviews/{setup.interview.id}/transcript"
    assert (await client.get(path, headers=auth(other))).status_code == 403
    assert (await client.get(path)).status_code == 401
    hr = await make_user(db, Role.HR_MANAGER)
    assert (
        await client.get(f"{API}/interviews/404/transcript", headers=auth(hr))
    ).status_code == 404


# -- evaluation -------------------------------------------------------------------------------


async def _evaluation(db, interview_id: int, status: EvaluationStatus, **fields) -> Evaluation:
    row = Evaluation(interview_id=interview_id, status=status, **fields)
    db.add(row)
    await db.commit()
    return row


async def test_evaluation_is_404_before_the_interview_ends(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    running = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    await _evaluation(db, running.interview.id, EvaluationStatus.PENDING)
    for setup in (await make_interview(db), running):
        resp = await client.get(
            f"{API}/interviews/{setup.interview.id}/evaluation", headers=auth(hr)
        )
        assert resp.status_code == 404
        assert "not ended" in resp.json()["detail"]


async def test_evaluation_is_404_when_none_was_made(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    setup = await make_interview(db, status=InterviewStatus.COMPLETED)
    resp = await client.get(f"{API}/interviews/{setup.interview.id}/evaluation", headers=auth(hr))
    assert resp.status_code == 404


async def test_evaluation_pending_is_202(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    setup = await make_interview(db, status=InterviewStatus.COMPLETED)
    await _evaluation(db, setup.interview.id, EvaluationStatus.PENDING)
    resp = await client.get(f"{API}/interviews/{setup.interview.id}/evaluation", headers=auth(hr))
    assert resp.status_code == 202
    assert resp.json() == {"status": "pending"}


@pytest.mark.parametrize("state", [InterviewStatus.COMPLETED, InterviewStatus.EXPIRED])
async def test_evaluation_done(client, db, state):
    viewer = await make_user(db, Role.INTERVIEWER)
    setup = await make_interview(db, status=state)
    scores = [
        {"question_id": q.id, "score": 7, "comment": "Good example."} for q in setup.questions
    ]
    await _evaluation(
        db,
        setup.interview.id,
        EvaluationStatus.DONE,
        overall_score=72,
        recommendation="hire",
        summary="Solid answers.",
        question_scores=scores,
        method="llm",
    )
    resp = await client.get(
        f"{API}/interviews/{setup.interview.id}/evaluation", headers=auth(viewer)
    )
    assert resp.status_code == 200
    assert resp.json() == {
        "status": "done",
        "overall_score": 72,
        "recommendation": "hire",
        "summary": "Solid answers.",
        "question_scores": scores,
        "method": "llm",
    }


async def test_evaluation_failed(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    setup = await make_interview(db, status=InterviewStatus.COMPLETED)
    await _evaluation(
        db, setup.interview.id, EvaluationStatus.FAILED, detail="The model was unreachable"
    )
    resp = await client.get(
        f"{API}/interviews/{setup.interview.id}/evaluation", headers=auth(admin)
    )
    assert resp.status_code == 200
    assert resp.json() == {"status": "failed", "detail": "The model was unreachable"}


async def test_evaluation_is_not_for_candidates(client, db):
    setup = await make_interview(db, status=InterviewStatus.COMPLETED)
    await _evaluation(db, setup.interview.id, EvaluationStatus.DONE, overall_score=50)
    resp = await client.get(
        f"{API}/interviews/{setup.interview.id}/evaluation", headers=auth(setup.candidate_user)
    )
    assert resp.status_code == 403
    assert (
        await client.get(f"{API}/interviews/{setup.interview.id}/evaluation")
    ).status_code == 401


async def test_rerun_evaluation_of_a_completed_interview(client, db, settings_env):
    settings_env(EVALUATION_BACKEND="inprocess")
    hr = await make_user(db, Role.HR_MANAGER)
    setup = await make_interview(db, status=InterviewStatus.COMPLETED)
    await _evaluation(db, setup.interview.id, EvaluationStatus.FAILED, detail="earlier failure")
    resp = await client.post(f"{API}/interviews/{setup.interview.id}/evaluation", headers=auth(hr))
    assert resp.status_code == 202
    assert resp.json() == {"status": "pending"}
    await lifecycle.drain()
    after = await client.get(f"{API}/interviews/{setup.interview.id}/evaluation", headers=auth(hr))
    assert after.status_code == 200
    assert after.json()["status"] in {"done", "failed"}
    assert after.json().get("detail") != "earlier failure"


@pytest.mark.parametrize(
    "state",
    [
        InterviewStatus.SCHEDULED,
        InterviewStatus.IN_PROGRESS,
        InterviewStatus.CANCELLED,
        InterviewStatus.EXPIRED,
    ],
)
async def test_rerun_evaluation_needs_a_completed_interview(client, db, state):
    admin = await make_user(db, Role.SUPER_ADMIN)
    setup = await make_interview(db, status=state)
    resp = await client.post(
        f"{API}/interviews/{setup.interview.id}/evaluation", headers=auth(admin)
    )
    assert resp.status_code == 409
    assert await _count(db, Evaluation) == 0


async def test_rerun_evaluation_refusals(client, db):
    setup = await make_interview(db, status=InterviewStatus.COMPLETED)
    path = f"{API}/interviews/{setup.interview.id}/evaluation"
    interviewer = await make_user(db, Role.INTERVIEWER)
    assert (await client.post(path, headers=auth(interviewer))).status_code == 403
    assert (await client.post(path, headers=auth(setup.candidate_user))).status_code == 403
    assert (await client.post(path)).status_code == 401
    hr = await make_user(db, Role.HR_MANAGER)
    assert (
        await client.post(f"{API}/interviews/8080/evaluation", headers=auth(hr))
    ).status_code == 404
    assert await _count(db, Evaluation) == 0
