"""POST /auth/login, GET /auth/me (and JWT tampering), POST /auth/ws-ticket."""

from __future__ import annotations

import base64
import json
import time

import pytest
from jose import jwt

from app.core.redis import get_redis
from app.core.security import (
    ALGORITHM,
    TICKET_PREFIX,
    create_access_token,
    redeem_ws_ticket,
    signing_key,
)
from app.models import InterviewStatus, Role
from app.services.auth_service import MAX_FAILED_LOGINS
from tests.support.api_helpers import API, assert_no_password_hash
from tests.support.factories import PASSWORD, auth, make_candidate, make_interview, make_user

# -- login ----------------------------------------------------------------------------------


async def test_login_returns_a_bearer_token_that_works(client, db, settings_env):
    settings_env(ACCESS_TOKEN_EXPIRE_MINUTES=45)
    user = await make_user(db, Role.HR_MANAGER, email="pat@example.com")
    resp = await client.post(
        f"{API}/auth/login", json={"email": "pat@example.com", "password": PASSWORD}
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 45 * 60
    me = await client.get(
        f"{API}/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == user.id
    claims = jwt.get_unverified_claims(body["access_token"])
    assert claims["sub"] == str(user.id) and claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 45 * 60


async def test_login_holds_no_database_connection_while_it_checks_the_password(
    client, db, monkeypatch
):
    """The password check takes a worker thread ~0.25 s; a login that kept its pooled
    connection through it let a burst of logins take the whole pool (`make bench`)."""
    from app.core.database import get_engine
    from app.services import auth_service

    await make_user(db, Role.HR_MANAGER, email="pool@example.com")
    await db.commit()
    pool = get_engine().sync_engine.pool
    held: list[int] = []
    check = auth_service.verify_password

    def observed(password: str, hashed: str) -> bool:
        held.append(pool.checkedout())  # type: ignore[attr-defined]
        return check(password, hashed)

    monkeypatch.setattr(auth_service, "verify_password", observed)
    resp = await client.post(
        f"{API}/auth/login", json={"email": "pool@example.com", "password": PASSWORD}
    )
    assert resp.status_code == 200
    assert held == [0]
    bad = await client.post(
        f"{API}/auth/login", json={"email": "pool@example.com", "password": "wrong-password"}
    )
    assert bad.status_code == 401
    assert held == [0, 0]


async def test_login_email_is_case_insensitive(client, db):
    await make_user(db, Role.INTERVIEWER, email="mixed@example.com")
    resp = await client.post(
        f"{API}/auth/login", json={"email": "  MiXeD@Example.COM ", "password": PASSWORD}
    )
    assert resp.status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("known@example.com", "wrong-password"),
        ("nobody@example.com", PASSWORD),
        ("not-an-email", PASSWORD),
        ("known@example.com", ""),
    ],
)
async def test_login_refuses_bad_credentials_with_one_message(client, db, email, password):
    await make_user(db, Role.HR_MANAGER, email="known@example.com")
    resp = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert resp.status_code == 401
    assert resp.json() == {"detail": "Incorrect email or password"}


async def test_login_refuses_an_inactive_user_with_the_same_message(client, db):
    await make_user(db, Role.HR_MANAGER, email="gone@example.com", is_active=False)
    resp = await client.post(
        f"{API}/auth/login", json={"email": "gone@example.com", "password": PASSWORD}
    )
    assert resp.status_code == 401
    assert resp.json() == {"detail": "Incorrect email or password"}


async def test_login_brakes_repeated_failures_per_email(client, db):
    await make_user(db, Role.HR_MANAGER, email="target@example.com")
    bad = {"email": "target@example.com", "password": "guess-guess"}
    for _ in range(MAX_FAILED_LOGINS):
        assert (await client.post(f"{API}/auth/login", json=bad)).status_code == 401
    resp = await client.post(f"{API}/auth/login", json={**bad, "password": PASSWORD})
    assert resp.status_code == 429
    assert "try again later" in resp.json()["detail"]


async def test_a_successful_login_clears_the_failure_count(client, db):
    await make_user(db, Role.HR_MANAGER, email="oops@example.com")
    bad = {"email": "oops@example.com", "password": "guess-guess"}
    for _ in range(MAX_FAILED_LOGINS - 1):
        await client.post(f"{API}/auth/login", json=bad)
    good = {"email": "oops@example.com", "password": PASSWORD}
    assert (await client.post(f"{API}/auth/login", json=good)).status_code == 200
    for _ in range(MAX_FAILED_LOGINS - 1):
        await client.post(f"{API}/auth/login", json=bad)
    assert (await client.post(f"{API}/auth/login", json=good)).status_code == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"email": "a@example.com"}, "password"),
        ({"password": "x"}, "email"),
        ({"email": 5, "password": "x"}, "email"),
        ([], "dictionary"),
    ],
)
async def test_login_bad_bodies_are_422_with_a_readable_detail(client, body, fragment):
    resp = await client.post(f"{API}/auth/login", json=body)
    assert resp.status_code == 422
    assert fragment in resp.json()["detail"].lower()


async def test_login_form_encoded_body_is_422(client):
    resp = await client.post(f"{API}/auth/login", data={"email": "a@b.io", "password": "x"})
    assert resp.status_code == 422
    assert isinstance(resp.json()["detail"], str)


# -- /auth/me and token tampering -------------------------------------------------------------


async def test_me_returns_the_user_without_secrets(client, db):
    user = await make_user(db, Role.INTERVIEWER, full_name="Ivy Interviewer")
    resp = await client.get(f"{API}/auth/me", headers=auth(user))
    assert resp.status_code == 200
    body = resp.json()
    assert {k: body[k] for k in ("id", "email", "full_name", "role", "is_active")} == {
        "id": user.id,
        "email": user.email,
        "full_name": "Ivy Interviewer",
        "role": "interviewer",
        "is_active": True,
    }
    assert body["created_at"].endswith("Z")
    assert_no_password_hash(resp)


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(user_id: int, **over: object) -> dict:
    now = int(time.time())
    return {"sub": str(user_id), "iat": now, "exp": now + 600, "type": "access", **over}


def _tampered_tokens(user_id: int) -> dict[str, str]:
    key = signing_key()
    good = create_access_token(user_id)
    header, payload, signature = good.split(".")
    forged_payload = _b64(_claims(user_id, exp=int(time.time()) + 86400))  # same user, longer
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    return {
        "expired": jwt.encode(
            _claims(user_id, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
            key,
            algorithm=ALGORITHM,
        ),
        "wrong_key": jwt.encode(_claims(user_id), "another-key-" + "x" * 40, algorithm=ALGORITHM),
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(user_id))}.",
        "alg_none_signed_part_kept": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}",
        "other_alg_same_key": jwt.encode(_claims(user_id), key, algorithm="HS512"),
        "payload_swapped": f"{header}.{forged_payload}.{signature}",
        "signature_flipped": f"{header}.{payload}.{flipped}",
        "wrong_type": jwt.encode(_claims(user_id, type="refresh"), key, algorithm=ALGORITHM),
        "no_type": jwt.encode(
            {k: v for k, v in _claims(user_id).items() if k != "type"}, key, algorithm=ALGORITHM
        ),
        "sub_not_a_number": jwt.encode(_claims(user_id, sub="admin"), key, algorithm=ALGORITHM),
        "sub_as_int": jwt.encode(_claims(user_id, sub=user_id), key, algorithm=ALGORITHM),
        "unknown_user": jwt.encode(_claims(987654), key, algorithm=ALGORITHM),
        "garbage": "not-a-token",
        "three_garbage_parts": "aaa.bbb.ccc",
        "empty": "",
    }


TAMPER_NAMES = [
    "expired",
    "wrong_key",
    "alg_none",
    "alg_none_signed_part_kept",
    "other_alg_same_key",
    "payload_swapped",
    "signature_flipped",
    "wrong_type",
    "no_type",
    "sub_not_a_number",
    "sub_as_int",
    "unknown_user",
    "garbage",
    "three_garbage_parts",
    "empty",
]


@pytest.mark.parametrize("name", TAMPER_NAMES)
async def test_me_refuses_tampered_tokens(client, db, name):
    user = await make_user(db, Role.SUPER_ADMIN)
    assert user.id is not None
    bad = _tampered_tokens(user.id)[name]
    resp = await client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {bad}"})
    assert resp.status_code == 401, resp.text
    assert resp.json() == {"detail": "Could not validate credentials"}


async def test_me_refuses_an_inactive_users_valid_token(client, db):
    user = await make_user(db, Role.HR_MANAGER, is_active=False)
    resp = await client.get(f"{API}/auth/me", headers=auth(user))
    assert resp.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": ""},
    ],
    ids=["missing", "basic", "bearer_without_token", "empty"],
)
async def test_me_without_a_bearer_token_is_401(client, headers):
    resp = await client.get(f"{API}/auth/me", headers=headers)
    assert resp.status_code == 401
    assert isinstance(resp.json()["detail"], str)


async def test_a_token_stops_working_when_the_user_is_deactivated(client, db):
    admin = await make_user(db, Role.SUPER_ADMIN)
    user = await make_user(db, Role.INTERVIEWER)
    headers = auth(user)
    assert (await client.get(f"{API}/auth/me", headers=headers)).status_code == 200
    resp = await client.patch(
        f"{API}/users/{user.id}", json={"is_active": False}, headers=auth(admin)
    )
    assert resp.status_code == 200
    assert (await client.get(f"{API}/auth/me", headers=headers)).status_code == 401


# -- ws-ticket ---------------------------------------------------------------------------------


async def test_ws_ticket_for_the_owner_is_single_use_and_bound(client, db):
    setup = await make_interview(db)
    resp = await client.post(
        f"{API}/auth/ws-ticket",
        json={"interview_id": setup.interview.id},
        headers=auth(setup.candidate_user),
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["expires_in"] == 30
    ticket = body["ticket"]
    assert len(ticket) >= 32
    assert await get_redis().exists(TICKET_PREFIX + ticket) == 1
    taken = await redeem_ws_ticket(ticket)
    assert taken is not None
    assert (taken.user_id, taken.interview_id) == (setup.candidate_user.id, setup.interview.id)
    assert await redeem_ws_ticket(ticket) is None
    assert await get_redis().exists(TICKET_PREFIX + ticket) == 0


async def test_ws_tickets_are_distinct(client, db):
    setup = await make_interview(db)
    headers = auth(setup.candidate_user)
    body = {"interview_id": setup.interview.id}
    first = (await client.post(f"{API}/auth/ws-ticket", json=body, headers=headers)).json()
    second = (await client.post(f"{API}/auth/ws-ticket", json=body, headers=headers)).json()
    assert first["ticket"] != second["ticket"]


async def test_ws_ticket_ttl_follows_the_setting(client, db, settings_env):
    settings_env(WS_TICKET_TTL_SEC=7)
    setup = await make_interview(db)
    resp = await client.post(
        f"{API}/auth/ws-ticket",
        json={"interview_id": setup.interview.id},
        headers=auth(setup.candidate_user),
    )
    assert resp.status_code == 200
    assert resp.json()["expires_in"] == 7
    ttl = await get_redis().ttl(TICKET_PREFIX + resp.json()["ticket"])
    assert 0 < ttl <= 7


@pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.HR_MANAGER, Role.INTERVIEWER])
async def test_ws_ticket_for_staff_and_interviewers(client, db, role):
    setup = await make_interview(db)
    user = await make_user(db, role)
    resp = await client.post(
        f"{API}/auth/ws-ticket", json={"interview_id": setup.interview.id}, headers=auth(user)
    )
    assert resp.status_code == 200
    taken = await redeem_ws_ticket(resp.json()["ticket"])
    assert taken is not None and taken.user_id == user.id


async def test_ws_ticket_refuses_another_candidate(client, db):
    setup = await make_interview(db)
    other, _ = await make_candidate(db, full_name="Someone Else")
    resp = await client.post(
        f"{API}/auth/ws-ticket", json={"interview_id": setup.interview.id}, headers=auth(other)
    )
    assert resp.status_code == 403
    assert await get_redis().keys(TICKET_PREFIX + "*") == []


async def test_ws_ticket_unknown_interview_is_404(client, db):
    user = await make_user(db, Role.HR_MANAGER)
    resp = await client.post(
        f"{API}/auth/ws-ticket", json={"interview_id": 4242}, headers=auth(user)
    )
    assert resp.status_code == 404
    assert resp.json() == {"detail": "Interview not found"}


@pytest.mark.parametrize(
    "state", [InterviewStatus.COMPLETED, InterviewStatus.CANCELLED, InterviewStatus.EXPIRED]
)
async def test_ws_ticket_for_an_ended_interview_is_409(client, db, state):
    setup = await make_interview(db, status=state)
    resp = await client.post(
        f"{API}/auth/ws-ticket",
        json={"interview_id": setup.interview.id},
        headers=auth(setup.candidate_user),
    )
    assert resp.status_code == 409
    assert state.value in resp.json()["detail"]


async def test_ws_ticket_for_a_running_interview(client, db):
    setup = await make_interview(db, status=InterviewStatus.IN_PROGRESS)
    resp = await client.post(
        f"{API}/auth/ws-ticket",
        json={"interview_id": setup.interview.id},
        headers=auth(setup.candidate_user),
    )
    assert resp.status_code == 200


async def test_ws_ticket_needs_a_token(client, db):
    setup = await make_interview(db)
    resp = await client.post(f"{API}/auth/ws-ticket", json={"interview_id": setup.interview.id})
    assert resp.status_code == 401


@pytest.mark.parametrize(
    "body", [{}, {"interview_id": "abc"}, {"interview_id": 0}, {"interview_id": None}]
)
async def test_ws_ticket_bad_bodies_are_422(client, db, body):
    user = await make_user(db, Role.HR_MANAGER)
    resp = await client.post(f"{API}/auth/ws-ticket", json=body, headers=auth(user))
    assert resp.status_code == 422
    assert "interview_id" in resp.json()["detail"]


async def test_failed_logins_elsewhere_do_not_lock_the_owner_out(db):
    from app.core.redis import get_redis
    from app.services import auth_service
    from app.services.errors import TooManyRequestsError

    user = await make_user(db, Role.CANDIDATE, email="owner@example.com")
    redis = get_redis()
    for _ in range(auth_service.MAX_FAILED_LOGINS):
        assert (
            await auth_service.authenticate(
                redis, "owner@example.com", "wrong-guess", client="203.0.113.9"
            )
            is None
        )
    with pytest.raises(TooManyRequestsError):
        await auth_service.authenticate(redis, "owner@example.com", PASSWORD, client="203.0.113.9")
    owner = await auth_service.authenticate(
        redis, "owner@example.com", PASSWORD, client="198.51.100.7"
    )
    assert owner == user.id
