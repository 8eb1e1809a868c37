"""POST/GET /candidates, GET /candidates/{id}, POST/GET /jobs."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.models import Candidate, Job, Role, User
from tests.support.api_helpers import API, ResponseRecorder, assert_no_password_hash
from tests.support.factories import auth, make_candidate, make_user


@pytest.fixture(autouse=True)
def no_hash_in_any_response(client):
    recorder = ResponseRecorder()
    client.event_hooks["response"].append(recorder)
    yield
    client.event_hooks["response"].remove(recorder)
    assert recorder.responses, "the scan saw no responses"
    for resp in recorder.responses:
        assert_no_password_hash(resp)


CANDIDATE = {
    "email": "Cand.One@Example.com",
    "full_name": "Cand One",
    "password": "candidate-pw",
    "resume_text": "Ten years of Go.",
}


async def _count(db, model) -> int:
    return (await db.exec(select(func.count()).select_from(model))).one()


# -- candidates -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.HR_MANAGER])
async def test_create_candidate_makes_user_and_profile(client, db, role):
    actor = await make_user(db, role)
    resp = await client.post(f"{API}/candidates", json=CANDIDATE, headers=auth(actor))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert {k: body[k] for k in ("email", "full_name", "resume_text")} == {
        "email": "cand.one@example.com",
        "full_name": "Cand One",
        "resume_text": "Ten years of Go.",
    }
    user = await db.get(User, body["user_id"])
    assert user is not None and user.role == Role.CANDIDATE and user.email == "cand.one@example.com"
    candidate = await db.get(Candidate, body["id"])
    assert candidate is not None and candidate.user_id == user.id
    login = await client.post(
        f"{API}/auth/login", json={"email": "cand.one@example.com", "password": "candidate-pw"}
    )
    assert login.status_code == 200


async def test_resume_text_is_optional(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    body = {k: v for k, v in CANDIDATE.items() if k != "resume_text"}
    resp = await client.post(f"{API}/candidates", json=body, headers=auth(hr))
    assert resp.status_code == 201
    assert resp.json()["resume_text"] == ""


async def test_duplicate_candidate_email_is_409_and_nothing_is_half_made(client, db):
    hr = await make_user(db, Role.HR_MANAGER, email="taken@example.com")
    users_before, candidates_before = await _count(db, User), await _count(db, Candidate)
    resp = await client.post(
        f"{API}/candidates", json={**CANDIDATE, "email": "TAKEN@example.com"}, headers=auth(hr)
    )
    assert resp.status_code == 409
    assert resp.json() == {"detail": "A user with this email already exists"}
    assert (await _count(db, User), await _count(db, Candidate)) == (
        users_before,
        candidates_before,
    )


@pytest.mark.parametrize("role", [Role.INTERVIEWER, Role.CANDIDATE])
async def test_create_candidate_refuses_other_roles(client, db, role):
    actor = await make_user(db, role)
    resp = await client.post(f"{API}/candidates", json=CANDIDATE, headers=auth(actor))
    assert resp.status_code == 403
    assert await _count(db, Candidate) == 0


async def test_create_candidate_needs_a_token(client):
    assert (await client.post(f"{API}/candidates", json=CANDIDATE)).status_code == 401


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"email": "nope"}, "email"),
        ({"full_name": ""}, "full_name"),
        ({"password": "1234"}, "password"),
        ({"resume_text": 42}, "resume_text"),
        ({"email": None}, "email"),
    ],
)
async def test_create_candidate_bad_bodies_are_422(client, db, change, fragment):
    hr = await make_user(db, Role.HR_MANAGER)
    resp = await client.post(f"{API}/candidates", json={**CANDIDATE, **change}, headers=auth(hr))
    assert resp.status_code == 422
    assert fragment in resp.json()["detail"]
    assert await _count(db, Candidate) == 0


async def test_list_and_get_candidates(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    first_user, first = await make_candidate(db, full_name="First One")
    _, second = await make_candidate(db, full_name="Second One")
    resp = await client.get(f"{API}/candidates", headers=auth(hr))
    assert resp.status_code == 200
    body = resp.json()
    assert [c["id"] for c in body] == [second.id, first.id]
    assert body[1]["email"] == first_user.email and body[1]["user_id"] == first_user.id
    one = await client.get(f"{API}/candidates/{first.id}", headers=auth(hr))
    assert one.status_code == 200
    assert one.json() == body[1]


async def test_get_unknown_candidate_is_404(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    resp = await client.get(f"{API}/candidates/777", headers=auth(hr))
    assert resp.status_code == 404
    assert resp.json() == {"detail": "Candidate not found"}


async def test_candidate_id_must_be_a_number(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    resp = await client.get(f"{API}/candidates/abc", headers=auth(hr))
    assert resp.status_code == 422
    assert "candidate_id" in resp.json()["detail"]


# -- jobs -------------------------------------------------------------------------------------

JOB = {"title": "Platform Engineer", "description": "Run the fleet.", "skills": ["go", "k8s"]}


@pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.HR_MANAGER])
async def test_create_and_list_jobs(client, db, role):
    actor = await make_user(db, role)
    resp = await client.post(f"{API}/jobs", json=JOB, headers=auth(actor))
    assert resp.status_code == 201
    body = resp.json()
    assert body["id"] >= 1 and body["created_by"] == actor.id
    assert {k: body[k] for k in JOB} == JOB
    listed = await client.get(f"{API}/jobs", headers=auth(actor))
    assert listed.status_code == 200
    assert listed.json() == [body]
    one = await client.get(f"{API}/jobs/{body['id']}", headers=auth(actor))
    assert one.json() == body


async def test_job_skills_are_trimmed_and_optional(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    resp = await client.post(
        f"{API}/jobs", json={"title": " QA ", "skills": [" pytest "]}, headers=auth(hr)
    )
    assert resp.status_code == 201
    assert (resp.json()["title"], resp.json()["skills"], resp.json()["description"]) == (
        "QA",
        ["pytest"],
        "",
    )
    bare = await client.post(f"{API}/jobs", json={"title": "Bare"}, headers=auth(hr))
    assert bare.status_code == 201 and bare.json()["skills"] == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({**JOB, "skills": ["go", ""]}, "skills.1"),
        ({**JOB, "skills": ["   "]}, "skills.0"),
        ({**JOB, "skills": "go"}, "skills"),
        ({**JOB, "skills": [1]}, "skills.0"),
        ({**JOB, "title": ""}, "title"),
        ({"description": "x", "skills": []}, "title"),
    ],
)
async def test_create_job_bad_bodies_are_422(client, db, body, fragment):
    hr = await make_user(db, Role.HR_MANAGER)
    resp = await client.post(f"{API}/jobs", json=body, headers=auth(hr))
    assert resp.status_code == 422
    assert fragment in resp.json()["detail"]
    assert await _count(db, Job) == 0


@pytest.mark.parametrize("role", [Role.INTERVIEWER, Role.CANDIDATE])
async def test_create_job_refuses_other_roles(client, db, role):
    actor = await make_user(db, role)
    assert (await client.post(f"{API}/jobs", json=JOB, headers=auth(actor))).status_code == 403


async def test_get_unknown_job_is_404(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    resp = await client.get(f"{API}/jobs/555", headers=auth(hr))
    assert resp.status_code == 404
