"""`make run` on the embedded default: migrates, seeds, prints the demo logins, serves."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import TMP, free_port

ROOT = Path(__file__).resolve().parents[2]
LOGIN_LINE = re.compile(r"^\s+(super_admin|hr_manager|interviewer|candidate)\s+(\S+@\S+)\s+(\S+)$")


def test_make_run_serves_the_product_and_its_demo_logins_work():
    port = free_port()
    data = TMP / f"make-run-{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "LLM_", "EVALUATION_", "SECRET_", "REDIS_", "HIREEZ_"))
    }
    env.update(DATA_DIR=str(data), DATABASE_URL=f"sqlite+aiosqlite:///{data / 'hireez.db'}")
    env["LOCAL_LLM_URL"] = ""  # offline even while a `make local-ai` server is up here
    env.pop("MAKEFLAGS", None)
    data.mkdir(parents=True)
    proc = subprocess.Popen(
        ["make", "-s", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        healthy = False
        while time.monotonic() < deadline and not healthy:
            try:
                resp = httpx.get(f"{base}/api/v1/health", timeout=1)
                healthy = resp.status_code == 200
            except httpx.HTTPError:
                assert proc.poll() is None, "make run exited early"
                time.sleep(0.2)
        assert healthy
        assert resp.json() == {"status": "ok", "database": "ok", "redis": "ok"}
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        lines = out.splitlines()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    logins = [m.groups() for line in lines if (m := LOGIN_LINE.match(line))]
    assert {role for role, _, _ in logins} == {
        "super_admin",
        "hr_manager",
        "interviewer",
        "candidate",
    }, "\n".join(lines[-40:])
    assert any("AI provider: offline" in line for line in lines)
    # the logins printed are real: start it again and log each one in
    proc = subprocess.Popen(
        ["make", "-s", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        for role, email, password in logins:
            resp = httpx.post(
                f"{base}/api/v1/auth/login", json={"email": email, "password": password}
            )
            assert resp.status_code == 200, (email, resp.text)
            me = httpx.get(
                f"{base}/api/v1/auth/me",
                headers={"Authorization": f"Bearer {resp.json()['access_token']}"},
            )
            assert me.json()["role"] == role
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
