"""POST /users, GET /users, PATCH /users/{id}: who may make and change whom."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core.security import verify_password
from app.models import Candidate, Role, User
from tests.support.api_helpers import API, ResponseRecorder, assert_no_password_hash
from tests.support.factories import PASSWORD, auth, make_candidate, make_user


@pytest.fixture(autouse=True)
def no_hash_in_any_response(client):
    """Every response of this module is scanned for a password hash at the end of each test."""
    recorder = ResponseRecorder()
    client.event_hooks["response"].append(recorder)
    yield
    client.event_hooks["response"].remove(recorder)
    assert recorder.responses, "the scan saw no responses"
    for resp in recorder.responses:
        assert_no_password_hash(resp)


def _new(role: str, email: str = "new.person@example.com") -> dict:
    return {"email": email, "password": "long-enough-pw", "full_name": "New Person", "role": role}


# -- create ---------------------------------------------------------------------------------

CREATE_MATRIX = [
    (Role.SUPER_ADMIN, "super_admin", 201),
    (Role.SUPER_ADMIN, "hr_manager", 201),
    (Role.SUPER_ADMIN, "interviewer", 201),
    (Role.SUPER_ADMIN, "candidate", 201),
    (Role.HR_MANAGER, "super_admin", 403),
    (Role.HR_MANAGER, "hr_manager", 403),
    (Role.HR_MANAGER, "interviewer", 201),
    (Role.HR_MANAGER, "candidate", 201),
    (Role.INTERVIEWER, "interviewer", 403),
    (Role.INTERVIEWER, "candidate", 403),
    (Role.CANDIDATE, "candidate", 403),
]


@pytest.mark.parametrize(("actor_role", "new_role", "expected"), CREATE_MATRIX)
async def test_create_user_role_matrix(client, db, actor_role, new_role, expected):
    actor = await make_user(db, actor_role)
    resp = await client.post(f"{API}/users", json=_new(new_role), headers=auth(actor))
    assert resp.status_code == expected, resp.text
    stored = (await db.exec(select(User).where(User.email == "new.person@example.com"))).first()
    if expected == 201:
        body = resp.json()
        assert body["role"] == new_role and body["is_active"] is True
        assert body["email"] == "new.person@example.com"
        assert set(body) == {"id", "email", "full_name", "role", "is_active", "created_at"}
        assert stored is not None and verify_password("long-enough-pw", stored.hashed_password)
    else:
        assert stored is None
        assert isinstance(resp.json()["detail"], str)


async def test_created_user_can_log_in(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    await client.post(f"{API}/users", json=_new("interviewer"), headers=auth(admin))
    resp = await client.post(
        f"{API}/auth/login",
        json={"email": "New.Person@example.com", "password": "long-enough-pw"},
    )
    assert resp.status_code == 200


async def test_creating_a_candidate_user_makes_its_profile(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    resp = await client.post(f"{API}/users", json=_new("candidate"), headers=auth(hr))
    assert resp.status_code == 201
    profile = (
        await db.exec(select(Candidate).where(Candidate.user_id == resp.json()["id"]))
    ).first()
    assert profile is not None and profile.full_name == "New Person"


async def test_email_is_stored_lower_case_and_duplicates_are_409(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    first = await client.post(
        f"{API}/users", json=_new("interviewer", " Dup.User@Example.com "), headers=auth(admin)
    )
    assert first.status_code == 201
    assert first.json()["email"] == "dup.user@example.com"
    again = await client.post(
        f"{API}/users", json=_new("candidate", "DUP.USER@example.com"), headers=auth(admin)
    )
    assert again.status_code == 409
    assert again.json() == {"detail": "A user with this email already exists"}
    rows = (await db.exec(select(User).where(User.email == "dup.user@example.com"))).all()
    assert len(rows) == 1


async def test_create_user_needs_a_token(client):
    resp = await client.post(f"{API}/users", json=_new("candidate"))
    assert resp.status_code == 401


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"password": "short"}, "password"),
        ({"full_name": "   "}, "full_name"),
        ({"role": "emperor"}, "role"),
        ({"role": None}, "role"),
        ({"full_name": "x" * 201}, "full_name"),
    ],
)
async def test_create_user_bad_bodies_are_422(client, db, change, fragment):
    admin = await make_user(db, Role.SUPER_ADMIN)
    resp = await client.post(
        f"{API}/users", json={**_new("candidate"), **change}, headers=auth(admin)
    )
    assert resp.status_code == 422
    assert fragment in resp.json()["detail"]


@pytest.mark.parametrize("missing", ["email", "password", "full_name", "role"])
async def test_create_user_missing_fields_are_422(client, db, missing):
    admin = await make_user(db, Role.SUPER_ADMIN)
    body = _new("candidate")
    del body[missing]
    resp = await client.post(f"{API}/users", json=body, headers=auth(admin))
    assert resp.status_code == 422
    assert resp.json()["detail"] == f"{missing}: Field required"


# -- list -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.SUPER_ADMIN, 200),
        (Role.HR_MANAGER, 200),
        (Role.INTERVIEWER, 200),
        (Role.CANDIDATE, 403),
    ],
)
async def test_list_users_by_role(client, db, role, expected):
    viewer = await make_user(db, role)
    await make_user(db, Role.HR_MANAGER)
    await make_candidate(db)
    resp = await client.get(f"{API}/users", headers=auth(viewer))
    assert resp.status_code == expected
    if expected == 200:
        body = resp.json()
        assert isinstance(body, list) and len(body) == 3
        assert [u["id"] for u in body] == sorted(u["id"] for u in body)
        assert all("hashed_password" not in u and "password" not in u for u in body)


async def test_list_users_needs_a_token(client):
    assert (await client.get(f"{API}/users")).status_code == 401


# -- patch ------------------------------------------------------------------------------------


async def test_patch_changes_name_activity_and_role(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    target = await make_user(db, Role.INTERVIEWER)
    resp = await client.patch(
        f"{API}/users/{target.id}",
        json={"full_name": "  Renamed Person ", "is_active": False, "role": "hr_manager"},
        headers=auth(admin),
    )
    assert resp.status_code == 200
    body = resp.json()
    assert (body["full_name"], body["is_active"], body["role"]) == (
        "Renamed Person",
        False,
        "hr_manager",
    )
    await db.refresh(target)
    assert (target.full_name, target.is_active, target.role) == (
        "Renamed Person",
        False,
        Role.HR_MANAGER,
    )


async def test_patch_with_an_empty_body_changes_nothing(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    target = await make_user(db, Role.INTERVIEWER, full_name="Same Name")
    resp = await client.patch(f"{API}/users/{target.id}", json={}, headers=auth(admin))
    assert resp.status_code == 200
    assert resp.json()["full_name"] == "Same Name"


async def test_reactivating_a_user_lets_them_log_in_again(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    target = await make_user(db, Role.INTERVIEWER, email="back@example.com", is_active=False)
    login = {"email": "back@example.com", "password": PASSWORD}
    assert (await client.post(f"{API}/auth/login", json=login)).status_code == 401
    resp = await client.patch(
        f"{API}/users/{target.id}", json={"is_active": True}, headers=auth(admin)
    )
    assert resp.status_code == 200
    assert (await client.post(f"{API}/auth/login", json=login)).status_code == 200


PATCH_MATRIX = [
    # actor, target's role, body, expected
    (Role.HR_MANAGER, Role.INTERVIEWER, {"full_name": "Ok"}, 200),
    (Role.HR_MANAGER, Role.CANDIDATE, {"is_active": False}, 200),
    (Role.HR_MANAGER, Role.CANDIDATE, {"role": "interviewer"}, 200),
    (Role.HR_MANAGER, Role.INTERVIEWER, {"role": "hr_manager"}, 403),
    (Role.HR_MANAGER, Role.INTERVIEWER, {"role": "super_admin"}, 403),
    (Role.HR_MANAGER, Role.HR_MANAGER, {"full_name": "Nope"}, 403),
    (Role.HR_MANAGER, Role.SUPER_ADMIN, {"is_active": False}, 403),
    (Role.SUPER_ADMIN, Role.HR_MANAGER, {"role": "super_admin"}, 200),
    (Role.SUPER_ADMIN, Role.SUPER_ADMIN, {"is_active": False}, 200),
    (Role.INTERVIEWER, Role.CANDIDATE, {"full_name": "Nope"}, 403),
    (Role.CANDIDATE, Role.CANDIDATE, {"full_name": "Nope"}, 403),
]


@pytest.mark.parametrize(("actor_role", "target_role", "body", "expected"), PATCH_MATRIX)
async def test_patch_user_role_matrix(client, db, actor_role, target_role, body, expected):
    actor = await make_user(db, actor_role)
    target = await make_user(db, target_role, full_name="Before")
    resp = await client.patch(f"{API}/users/{target.id}", json=body, headers=auth(actor))
    assert resp.status_code == expected, resp.text
    await db.refresh(target)
    if expected == 403:
        assert target.full_name == "Before" and target.is_active and target.role == target_role


async def test_users_cannot_deactivate_themselves(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    resp = await client.patch(
        f"{API}/users/{admin.id}", json={"is_active": False}, headers=auth(admin)
    )
    assert resp.status_code == 400
    assert resp.json() == {"detail": "You cannot deactivate yourself"}
    await db.refresh(admin)
    assert admin.is_active


async def test_users_cannot_change_their_own_role(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    resp = await client.patch(
        f"{API}/users/{admin.id}", json={"role": "candidate"}, headers=auth(admin)
    )
    assert resp.status_code == 400


async def test_users_may_rename_themselves(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    # an hr_manager cannot manage hr_manager accounts, their own included
    resp = await client.patch(f"{API}/users/{hr.id}", json={"full_name": "Me"}, headers=auth(hr))
    assert resp.status_code == 403
    admin = await make_user(db, Role.SUPER_ADMIN)
    resp = await client.patch(
        f"{API}/users/{admin.id}", json={"full_name": "Root"}, headers=auth(admin)
    )
    assert resp.status_code == 200 and resp.json()["full_name"] == "Root"


async def test_patch_unknown_user_is_404(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    resp = await client.patch(f"{API}/users/98765", json={"full_name": "X"}, headers=auth(admin))
    assert resp.status_code == 404
    assert resp.json() == {"detail": "User not found"}


async def test_renaming_a_candidate_renames_the_profile(client, db):
    hr = await make_user(db, Role.HR_MANAGER)
    user, candidate = await make_candidate(db, full_name="Old Name")
    resp = await client.patch(
        f"{API}/users/{user.id}", json={"full_name": "New Name"}, headers=auth(hr)
    )
    assert resp.status_code == 200
    await db.refresh(candidate)
    assert candidate.full_name == "New Name"


async def test_turning_an_interviewer_into_a_candidate_makes_a_profile(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    target = await make_user(db, Role.INTERVIEWER, full_name="Switcher")
    resp = await client.patch(
        f"{API}/users/{target.id}", json={"role": "candidate"}, headers=auth(admin)
    )
    assert resp.status_code == 200
    profile = (await db.exec(select(Candidate).where(Candidate.user_id == target.id))).first()
    assert profile is not None and profile.full_name == "Switcher"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"is_active": "maybe"}, "is_active"),
        ({"full_name": ""}, "full_name"),
        ({"role": "king"}, "role"),
        ([1, 2], "dictionary"),
    ],
)
async def test_patch_bad_bodies_are_422(client, db, body, fragment):
    admin = await make_user(db, Role.SUPER_ADMIN)
    target = await make_user(db, Role.INTERVIEWER)
    resp = await client.patch(f"{API}/users/{target.id}", json=body, headers=auth(admin))
    assert resp.status_code == 422
    assert fragment in resp.json()["detail"].lower()


async def test_patch_needs_a_token(client, db):
    target = await make_user(db, Role.INTERVIEWER)
    assert (await client.patch(f"{API}/users/{target.id}", json={})).status_code == 401
