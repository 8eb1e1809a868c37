"""Run a command against a fresh HireEz backend (embedded default, demo data) on a free port.

    .venv/bin/python scripts/with_backend.py [--origin URL]... [--env K=V]...
        [--standin [--standin-token-delay SEC]] -- CMD ARGS...

The backend gets its own temporary DATA_DIR and SQLite file, is migrated and seeded, and
serves on 127.0.0.1:PORT; CMD runs with HIREEZ_LIVE_URL=http://127.0.0.1:PORT and the
exit status of CMD is returned. The backend is stopped afterwards, whatever happens.
Used by `make test` for the frontend's live checks (and the browser tests).

`--standin` also starts the OpenAI-compatible stand-in (backend/tests/support/openai_standin.py)
on a free port, streaming a piece every SEC seconds, points the backend at it, and gives CMD
HIREEZ_STANDIN_URL=http://127.0.0.1:SPORT so that it can steer it (POST /_control).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"
PY = ROOT / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origin", action="append", default=[], help="extra CORS origin")
    parser.add_argument("--env", action="append", default=[], help="K=V for the backend")
    parser.add_argument("--standin", action="store_true", help="serve the AI from the stand-in")
    parser.add_argument("--standin-token-delay", type=float, default=0.0, metavar="SEC",
                        help="seconds between the stand-in's streamed pieces")
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given")
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="hireez-live-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "LLM_", "EVALUATION_", "SECRET_", "REDIS_", "DATABASE_"))
    }
    base = f"http://127.0.0.1:{port}"
    origins = [base, f"http://localhost:{port}", *args.origin]
    env.update(
        DATA_DIR=str(data),
        DATABASE_URL=f"sqlite+aiosqlite:///{data / 'hireez.db'}",
        CORS_ORIGINS=",".join(origins),
    )
    standin: subprocess.Popen[bytes] | None = None
    cmd_env = {**os.environ, "HIREEZ_LIVE_URL": base}
    if args.standin:
        standin, standin_url = start_standin(args.standin_token_delay)
        env.update(OPENAI_BASE_URL=f"{standin_url}/v1", OPENAI_API_KEY="standin",
                   LLM_PROVIDER="openai")
        cmd_env["HIREEZ_STANDIN_URL"] = standin_url
    for pair in args.env:
        key, _, value = pair.partition("=")
        env[key] = value
    try:
        return run_backend(port, data, env, cmd, cmd_env)
    finally:
        if standin is not None:
            stop(standin)


def start_standin(token_delay: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(PY), "-m", "tests.support.openai_standin", "--port", str(port),
         "--token-delay", str(token_delay)],
        cwd=BACKEND, env={**os.environ, "PYTHONPATH": str(BACKEND)},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=1):
                return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise SystemExit("the OpenAI stand-in did not start") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_backend(
    port: int, data: Path, env: dict[str, str], cmd: list[str], cmd_env: dict[str, str]
) -> int:
    base = f"http://127.0.0.1:{port}"
    subprocess.run([str(PY), "-m", "alembic", "upgrade", "head"], cwd=BACKEND, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(PY), "-m", "app.seed"], cwd=BACKEND, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log = open(data / "backend.log", "wb")  # noqa: SIM115 (closed in finally)
    server = subprocess.Popen(
        [str(PY), "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--ws", "websockets-sansio"],
        cwd=BACKEND, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.stderr.write((data / "backend.log").read_text()[-3000:])
                    return 1
                time.sleep(0.2)
        return subprocess.run(cmd, check=False, env=cmd_env).returncode
    finally:
        stop(server)
        log.close()


if __name__ == "__main__":
    sys.exit(main())
