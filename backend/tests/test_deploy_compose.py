"""The production deployment's files, read as data (Docker does not run here; the same
topology runs natively in test_deploy_nginx.py): docker-compose.yml's services, health
checks, prestart and settings; the nginx template; the Dockerfiles."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.core.config import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
NGINX_TEMPLATE = REPO / "nginx" / "hireez.conf.template"
APP_SERVICES = ("migrate", "backend", "worker")  # the containers running the app's code


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@pytest.fixture(scope="module")
def nginx_conf() -> str:
    """The template without its comments."""
    return "\n".join(line.split("#", 1)[0] for line in NGINX_TEMPLATE.read_text().splitlines())


def _env(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def _command(service: dict[str, Any]) -> str:
    command = service.get("command") or ""
    return " ".join(command) if isinstance(command, list) else str(command)


def test_the_services_and_their_images(compose):
    services = compose["services"]
    assert {"postgres", "redis", "backend", "worker", "nginx", "migrate"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in APP_SERVICES:
        assert services[name]["build"]["context"] == "./backend"
    assert services["nginx"]["build"]["dockerfile"] == "nginx/Dockerfile"


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        if name == "migrate":  # one-shot: it exits when the schema is at head
            assert service.get("restart") == "no"
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
    backend_check = " ".join(compose["services"]["backend"]["healthcheck"]["test"])
    assert "/api/v1/health" in backend_check


def test_the_backend_runs_uvicorn_tuned_and_migrated_first(compose):
    services = compose["services"]
    command = _command(services["backend"])
    for flag in (
        "uvicorn app.main:app",
        "--loop=uvloop",
        "--http=httptools",
        "--ws=websockets-sansio",
        "--ws-per-message-deflate=false",
        "--workers=",
    ):
        assert flag in command, flag
    assert _command(services["migrate"]) == "alembic upgrade head"
    for name in ("backend", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert _command(services["worker"]).startswith("celery -A app.tasks.celery_app worker")
    assert services["nginx"]["depends_on"]["backend"]["condition"] == "service_healthy"


def test_every_app_setting_named_in_compose_exists(compose):
    known = set(Settings.model_fields)
    for name in APP_SERVICES:
        env = _env(compose["services"][name])
        unknown = sorted(set(env) - known)
        assert not unknown, f"{name}: not settings of the app: {unknown}"
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["REDIS_URL"].startswith("redis://")
        assert env["EVALUATION_BACKEND"] == "celery"
        # from the environment or .env, never a literal in the file
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", env["SECRET_KEY"]), env["SECRET_KEY"]


def test_data_lives_in_named_volumes(compose):
    volumes = set(compose["volumes"])
    services = compose["services"]
    pg = [v.split(":") for v in services["postgres"]["volumes"]]
    assert any(src in volumes and dst == "/var/lib/postgresql/data" for src, dst in pg)
    data_dir = _env(services["backend"])["DATA_DIR"]
    for name in ("backend", "worker"):
        mounts = [v.split(":") for v in services[name]["volumes"]]
        assert any(src in volumes and dst == data_dir for src, dst in mounts), name


def test_nginx_template_upgrades_sockets_round_robin_and_logs_no_query(compose, nginx_conf):
    conf = nginx_conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert re.search(r"proxy_set_header Connection \$\w+;", conf)
    assert re.search(r"map \$http_upgrade \$\w+ \{\s*default\s+upgrade;", conf)
    assert "proxy_http_version 1.1;" in conf
    assert "proxy_read_timeout 3600s;" in conf
    for sticky in ("ip_hash", "hash ", "sticky", "least_conn"):
        assert sticky not in conf, f"{sticky!r}: no sticky sessions"
    # access logs: a format of our own, with the path but never the query string
    formats = re.findall(r"log_format\s+(\w+)((?:\s+'[^']*')+)\s*;", conf)
    assert formats
    for _, body in formats:
        assert "$uri" in body
        leaky = re.findall(r"\$(?:request|request_uri|args|query_string|http_referer)\b", body)
        leaky += re.findall(r"\$arg_\w+", body)
        assert not leaky, leaky
    named = {name for name, _ in formats}
    access_logs = re.findall(r"access_log\s+([^\s;]+)(?:\s+(\w+))?\s*;", conf)
    assert access_logs
    assert all(fmt in named or path == "off" for path, fmt in access_logs)
    # the placeholders the nginx service fills in
    placeholders = set(re.findall(r"\$\{(\w+)\}", conf))
    assert {"LISTEN_PORT", "BACKEND_UPSTREAMS"} <= placeholders
    nginx_env = _env(compose["services"]["nginx"])
    assert placeholders <= set(nginx_env), "the nginx service sets every placeholder"


def test_dockerfiles_build_in_stages_and_run_unprivileged():
    backend = (REPO / "backend" / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", backend, re.MULTILINE)) >= 2
    users = re.findall(r"^USER\s+(\S+)", backend, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "pip install" in backend
    front = (REPO / "nginx" / "Dockerfile").read_text()
    assert "npm ci" in front and "npm run build" in front
    assert "/etc/nginx/templates/" in front and "COPY --from=" in front
    for ignore in (REPO / ".dockerignore", REPO / "backend" / ".dockerignore"):
        assert ".env" in ignore.read_text()
