"""Every REST route x every role: the expected status, table-driven.

Roles: super_admin, hr_manager, interviewer, owner (the interview's candidate),
other_candidate, anonymous (no token). Each cell runs against a fresh world.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from app.models import Evaluation, EvaluationStatus
from tests.support.api_helpers import API, ROLES, World, assert_no_password_hash, make_world
from tests.support.factories import PASSWORD

SA, HR, IV, OW, OC, AN = ROLES


def expect(sa: int, hr: int, iv: int, ow: int, oc: int, an: int = 401) -> dict[str, int]:
    return dict(zip(ROLES, (sa, hr, iv, ow, oc, an), strict=True))


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    template: str  # as the app declares it
    expected: dict[str, int]
    params: Callable[[World], dict[str, int]] = lambda w: {}
    json: Callable[[World], Any] | None = None
    files: bool = False

    def path(self, world: World) -> str:
        return self.template.format(**self.params(world))


def _user(role: str, email: str = "made.here@example.com") -> dict[str, str]:
    return {"email": email, "password": "long-enough-pw", "full_name": "Made Here", "role": role}


ROUTES = [
    Route(
        "login-needs-no-token",
        "POST",
        "/auth/login",
        expect(200, 200, 200, 200, 200, 200),
        json=lambda w: {"email": w.users[SA].email, "password": PASSWORD},
    ),
    Route("me", "GET", "/auth/me", expect(200, 200, 200, 200, 200)),
    Route(
        "ws-ticket",
        "POST",
        "/auth/ws-ticket",
        expect(200, 200, 200, 200, 403),
        json=lambda w: {"interview_id": w.interview_id},
    ),
    Route(
        "ws-ticket-ended",
        "POST",
        "/auth/ws-ticket",
        expect(409, 409, 409, 409, 403),
        json=lambda w: {"interview_id": w.completed_id},
    ),
    Route(
        "create-interviewer",
        "POST",
        "/users",
        expect(201, 201, 403, 403, 403),
        json=lambda w: _user("interviewer"),
    ),
    Route(
        "create-hr",
        "POST",
        "/users",
        expect(201, 403, 403, 403, 403),
        json=lambda w: _user("hr_manager"),
    ),
    Route("list-users", "GET", "/users", expect(200, 200, 200, 403, 403)),
    Route(
        "patch-interviewer",
        "PATCH",
        "/users/{user_id}",
        expect(200, 200, 403, 403, 403),
        params=lambda w: {"user_id": w.users[IV].id},
        json=lambda w: {"full_name": "Renamed"},
    ),
    Route(
        "patch-hr-to-admin",
        "PATCH",
        "/users/{user_id}",
        expect(200, 403, 403, 403, 403),  # hr_manager may not manage hr_manager accounts
        params=lambda w: {"user_id": w.users[HR].id},
        json=lambda w: {"role": "super_admin"},
    ),
    Route(
        "create-candidate",
        "POST",
        "/candidates",
        expect(201, 201, 403, 403, 403),
        json=lambda w: {"email": "cand@example.com", "full_name": "C", "password": "pw-12345678"},
    ),
    Route("list-candidates", "GET", "/candidates", expect(200, 200, 200, 403, 403)),
    Route(
        "get-candidate",
        "GET",
        "/candidates/{candidate_id}",
        expect(200, 200, 200, 403, 403),
        params=lambda w: {"candidate_id": w.other_candidate_id},
    ),
    Route(
        "create-job",
        "POST",
        "/jobs",
        expect(201, 201, 403, 403, 403),
        json=lambda w: {"title": "SRE", "description": "", "skills": ["linux"]},
    ),
    Route("list-jobs", "GET", "/jobs", expect(200, 200, 200, 403, 403)),
    Route(
        "get-job",
        "GET",
        "/jobs/{job_id}",
        expect(200, 200, 200, 403, 403),
        params=lambda w: {"job_id": w.setup.job.id},
    ),
    Route(
        "create-interview",
        "POST",
        "/interviews",
        expect(201, 201, 403, 403, 403),
        json=lambda w: {
            "job_id": w.setup.job.id,
            "candidate_id": w.other_candidate_id,
            "questions": ["Why this role?"],
        },
    ),
    Route("list-interviews", "GET", "/interviews", expect(200, 200, 200, 200, 200)),
    Route(
        "get-interview",
        "GET",
        "/interviews/{interview_id}",
        expect(200, 200, 200, 200, 403),
        params=lambda w: {"interview_id": w.interview_id},
    ),
    Route(
        "get-unknown-interview",
        "GET",
        "/interviews/{interview_id}",
        expect(404, 404, 404, 404, 404),
        params=lambda w: {"interview_id": 999999},
    ),
    Route(
        "cancel",
        "POST",
        "/interviews/{interview_id}/cancel",
        expect(200, 200, 403, 403, 403),
        params=lambda w: {"interview_id": w.interview_id},
    ),
    Route(
        "cancel-ended",
        "POST",
        "/interviews/{interview_id}/cancel",
        expect(409, 409, 403, 403, 403),
        params=lambda w: {"interview_id": w.completed_id},
    ),
    Route(
        "transcript",
        "GET",
        "/interviews/{interview_id}/transcript",
        expect(200, 200, 200, 200, 403),
        params=lambda w: {"interview_id": w.interview_id},
    ),
    Route(
        "get-evaluation",
        "GET",
        "/interviews/{interview_id}/evaluation",
        expect(200, 200, 200, 403, 403),
        params=lambda w: {"interview_id": w.completed_id},
    ),
    Route(
        "get-evaluation-not-ended",
        "GET",
        "/interviews/{interview_id}/evaluation",
        expect(404, 404, 404, 403, 403),
        params=lambda w: {"interview_id": w.interview_id},
    ),
    Route(
        "rerun-evaluation",
        "POST",
        "/interviews/{interview_id}/evaluation",
        expect(202, 202, 403, 403, 403),
        params=lambda w: {"interview_id": w.completed_id},
    ),
    Route(
        "rerun-evaluation-not-ended",
        "POST",
        "/interviews/{interview_id}/evaluation",
        expect(409, 409, 403, 403, 403),
        params=lambda w: {"interview_id": w.interview_id},
    ),
    Route(
        "recording",
        "POST",
        "/interviews/{interview_id}/recording",
        expect(403, 403, 403, 201, 403),
        params=lambda w: {"interview_id": w.interview_id},
        files=True,
    ),
]

CELLS = [pytest.param(route, role, id=f"{route.name}-{role}") for route in ROUTES for role in ROLES]


@pytest.fixture(autouse=True)
def _settings(settings_env, tmp_path):
    settings_env(DATA_DIR=tmp_path, EVALUATION_BACKEND="inprocess")


@pytest.mark.parametrize(("route", "role"), CELLS)
async def test_route_by_role(client, db, route: Route, role: str):
    world = await make_world(db)
    db.add(
        Evaluation(
            interview_id=world.completed_id,
            status=EvaluationStatus.DONE,
            overall_score=80,
            recommendation="hire",
            summary="Good.",
            method="llm",
        )
    )
    await db.commit()
    kwargs: dict[str, Any] = {"headers": world.headers(role)}
    if route.json is not None:
        kwargs["json"] = route.json(world)
    if route.files:
        kwargs["files"] = {"file": ("rec.webm", b"\x1a\x45\xdf\xa3" * 64, "video/webm")}
    resp = await client.request(route.method, API + route.path(world), **kwargs)
    assert resp.status_code == route.expected[role], resp.text
    assert_no_password_hash(resp)
    body = resp.json()
    if resp.status_code >= 400:
        assert set(body) == {"detail"} and isinstance(body["detail"], str)


def test_the_matrix_covers_every_rest_route(app):
    """A new REST route must get a row here (/health excepted; sockets are not in OpenAPI)."""
    covered = {(route.method, route.template) for route in ROUTES}
    served = {
        (method.upper(), path.removeprefix(API))
        for path, operations in app.openapi()["paths"].items()
        if path != f"{API}/health"
        for method in operations
    }
    assert len(served) >= 18
    assert served - covered == set()
