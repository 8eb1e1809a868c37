"""POST /interviews/{id}/recording: streamed to disk, size-capped, owner only."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from app.core.config import get_settings
from app.models import InterviewStatus, Recording, Role
from tests.support.api_helpers import API, CountingBody, multipart_parts
from tests.support.factories import auth, make_candidate, make_interview, make_user

KIB = 1024
MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def own_data_dir(settings_env, tmp_path):
    """A fresh DATA_DIR per test (interview ids repeat across tests)."""
    settings_env(DATA_DIR=tmp_path)


def _dir(interview_id: int) -> Path:
    return get_settings().DATA_DIR / "recordings" / str(interview_id)


def _files(interview_id: int) -> list[Path]:
    folder = _dir(interview_id)
    return sorted(p for p in folder.iterdir()) if folder.exists() else []


async def _upload(client, interview_id, user, payload: bytes, content_type="video/webm"):
    return await client.post(
        f"{API}/interviews/{interview_id}/recording",
        files={"file": ("interview.webm", payload, content_type)},
        headers=auth(user),
    )


async def test_upload_is_stored_with_its_size(client, db, settings_env):
    settings_env(MAX_RECORDING_MB=1)
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    payload = bytes(range(256)) * (200 * KIB // 256)
    resp = await _upload(client, setup.interview.id, setup.candidate_user, payload)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["bytes"] == 200 * KIB
    files = _files(setup.interview.id)
    assert len(files) == 1 and files[0].suffix == ".webm"
    assert files[0].stat().st_size == 200 * KIB
    assert files[0].read_bytes() == payload
    row = await db.get(Recording, body["recording_id"])
    assert row is not None
    assert (row.interview_id, row.bytes, row.content_type) == (
        setup.interview.id,
        200 * KIB,
        "video/webm",
    )
    assert get_settings().DATA_DIR / row.path == files[0]


async def test_upload_of_exactly_the_limit_is_accepted(client, db, settings_env):
    settings_env(MAX_RECORDING_MB=1)
    setup = await make_interview(db, status=InterviewStatus.COMPLETED)
    resp = await _upload(client, setup.interview.id, setup.candidate_user, b"\x1a" * MIB)
    assert resp.status_code == 201
    assert resp.json()["bytes"] == MIB


async def test_upload_above_the_limit_is_413_and_leaves_no_file(client, db, settings_env):
    settings_env(MAX_RECORDING_MB=1)
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    resp = await _upload(client, setup.interview.id, setup.candidate_user, b"\0" * (2 * MIB))
    assert resp.status_code == 413
    assert "1 MB" in resp.json()["detail"]
    assert _files(setup.interview.id) == []
    assert (await db.exec(select(Recording))).all() == []


async def test_upload_without_content_length_is_cut_off_while_streaming(client, db, settings_env):
    settings_env(MAX_RECORDING_MB=1)
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    header, head, payload, tail = multipart_parts(2 * MIB)
    body = CountingBody([head, payload, tail])
    resp = await client.post(
        f"{API}/interviews/{setup.interview.id}/recording",
        content=body,
        headers={**auth(setup.candidate_user), "Content-Type": header},
    )
    assert resp.status_code == 413
    # refused as soon as the limit was passed: the rest of the body was never read
    assert body.pulled < MIB + 256 * KIB
    assert _files(setup.interview.id) == []
    assert (await db.exec(select(Recording))).all() == []


async def test_upload_streamed_in_chunks_below_the_limit(client, db, settings_env):
    settings_env(MAX_RECORDING_MB=1)
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    header, head, payload, tail = multipart_parts(700 * KIB, content_type="audio/webm")
    body = CountingBody([head, payload, tail], chunk=4000)
    resp = await client.post(
        f"{API}/interviews/{setup.interview.id}/recording",
        content=body,
        headers={**auth(setup.candidate_user), "Content-Type": header},
    )
    assert resp.status_code == 201, resp.text
    files = _files(setup.interview.id)
    assert len(files) == 1 and files[0].read_bytes() == payload


async def test_a_lying_content_length_header_is_refused_up_front(client, db, settings_env):
    settings_env(MAX_RECORDING_MB=1)
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    header, head, payload, tail = multipart_parts(10 * KIB)
    body = CountingBody([head, payload, tail])
    resp = await client.post(
        f"{API}/interviews/{setup.interview.id}/recording",
        content=body,
        headers={
            **auth(setup.candidate_user),
            "Content-Type": header,
            "Content-Length": str(50 * MIB),
        },
    )
    assert resp.status_code == 413
    assert body.pulled == 0


@pytest.mark.parametrize(
    ("content_type", "suffix"),
    [("video/webm", ".webm"), ("audio/webm;codecs=opus", ".webm"), ("video/mp4", ".mp4")],
)
async def test_accepted_media_types(client, db, content_type, suffix):
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    resp = await _upload(
        client, setup.interview.id, setup.candidate_user, b"media" * 100, content_type
    )
    assert resp.status_code == 201
    assert [p.suffix for p in _files(setup.interview.id)] == [suffix]


@pytest.mark.parametrize("content_type", ["text/plain", "image/png", "application/octet-stream"])
async def test_other_media_types_are_415(client, db, content_type):
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    resp = await _upload(client, setup.interview.id, setup.candidate_user, b"x" * 100, content_type)
    assert resp.status_code == 415
    assert "video/webm" in resp.json()["detail"]
    assert _files(setup.interview.id) == []


async def test_several_uploads_are_kept_apart(client, db):
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    first = await _upload(client, setup.interview.id, setup.candidate_user, b"a" * 10)
    second = await _upload(client, setup.interview.id, setup.candidate_user, b"b" * 20)
    assert first.json()["recording_id"] != second.json()["recording_id"]
    assert sorted(p.stat().st_size for p in _files(setup.interview.id)) == [10, 20]


async def test_upload_bad_bodies_are_422(client, db):
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    path = f"{API}/interviews/{setup.interview.id}/recording"
    headers = auth(setup.candidate_user)
    wrong_field = await client.post(
        path, files={"video": ("a.webm", b"abc", "video/webm")}, headers=headers
    )
    assert wrong_field.status_code == 422
    assert wrong_field.json() == {"detail": "file: Field required"}
    empty = await client.post(path, files={"file": ("a.webm", b"", "video/webm")}, headers=headers)
    assert empty.status_code == 422
    assert "empty" in empty.json()["detail"]
    as_json = await client.post(path, json={"file": "abc"}, headers=headers)
    assert as_json.status_code == 422
    assert "multipart/form-data" in as_json.json()["detail"]
    broken = await client.post(
        path,
        content=b"--xyz\r\nno headers here",
        headers={**headers, "Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert broken.status_code == 422
    assert _files(setup.interview.id) == []


async def test_upload_is_for_the_owner_only(client, db):
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    other, _ = await make_candidate(db, full_name="Another Candidate")
    for user in (
        other,
        await make_user(db, Role.HR_MANAGER),
        await make_user(db, Role.SUPER_ADMIN),
    ):
        resp = await _upload(client, setup.interview.id, user, b"x" * 10)
        assert resp.status_code == 403
    resp = await client.post(
        f"{API}/interviews/{setup.interview.id}/recording",
        files={"file": ("a.webm", b"x", "video/webm")},
    )
    assert resp.status_code == 401
    resp = await _upload(client, 4040, setup.candidate_user, b"x" * 10)
    assert resp.status_code == 404
    assert _files(setup.interview.id) == []


async def test_upload_to_a_cancelled_interview_is_409(client, db):
    setup = await make_interview(db, status=InterviewStatus.CANCELLED)
    resp = await _upload(client, setup.interview.id, setup.candidate_user, b"x" * 10)
    assert resp.status_code == 409
    assert _files(setup.interview.id) == []
