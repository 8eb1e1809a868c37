"""Ids past the tables' INTEGER range: a clear 422 on every route that takes one, in the path
or in the body, never a server error (asyncpg refuses such a value outright, PostgreSQL run);
the largest id that fits is looked up as usual (404: no such row)."""

from __future__ import annotations

import pytest

from app.models import MAX_ID, Role
from tests.support.factories import auth, make_candidate, make_job, make_user

API = "/api/v1"
PATH_ROUTES = [
    ("GET", "/candidates/{}", None),
    ("GET", "/jobs/{}", None),
    ("PATCH", "/users/{}", {"full_name": "Someone Else"}),
    ("GET", "/interviews/{}", None),
    ("POST", "/interviews/{}/cancel", None),
    ("GET", "/interviews/{}/transcript", None),
    ("GET", "/interviews/{}/evaluation", None),
    ("POST", "/interviews/{}/evaluation", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PATH_ROUTES, ids=lambda v: str(v))
async def test_a_path_id_past_the_column_range_is_a_422(db, client, method, path, body):
    admin = await make_user(db, Role.SUPER_ADMIN)
    await db.commit()
    for too_big in (MAX_ID + 1, 2**64):
        resp = await client.request(
            method, API + path.format(too_big), json=body, headers=auth(admin)
        )
        assert resp.status_code == 422, resp.text
        assert "2147483647" in str(resp.json()["detail"])
    largest = await client.request(
        method, API + path.format(MAX_ID), json=body, headers=auth(admin)
    )
    assert largest.status_code == 404, largest.text


async def test_a_path_id_is_checked_after_the_caller_is(client):
    resp = await client.get(f"{API}/interviews/{MAX_ID + 1}")
    assert resp.status_code == 401


async def test_an_upload_for_an_id_past_the_range_is_a_422(db, client):
    user, _ = await make_candidate(db)
    await db.commit()
    files = {"file": ("take.webm", b"\x1a\x45\xdf\xa3" + b"0" * 64, "video/webm")}
    resp = await client.post(
        f"{API}/interviews/{MAX_ID + 1}/recording", files=files, headers=auth(user)
    )
    assert resp.status_code == 422, resp.text


@pytest.mark.parametrize("field", ["job_id", "candidate_id"])
async def test_an_interview_for_an_id_past_the_range_is_a_422_and_creates_nothing(
    db, client, field
):
    hr = await make_user(db, Role.HR_MANAGER)
    job = await make_job(db)
    _, candidate = await make_candidate(db)
    await db.commit()
    body = {
        "job_id": job.id,
        "candidate_id": candidate.id,
        "questions": ["Tell me about a hard bug you fixed."],
        field: MAX_ID + 1,
    }
    resp = await client.post(f"{API}/interviews", json=body, headers=auth(hr))
    assert resp.status_code == 422, resp.text
    assert field in str(resp.json()["detail"])
    listed = await client.get(f"{API}/interviews", headers=auth(hr))
    assert listed.status_code == 200 and listed.json() == []
