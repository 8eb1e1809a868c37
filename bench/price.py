"""Where a token's CPU goes: py-spy samples of one server under the stream load, by part.

Runs bench/run.py for one stream scenario (`BENCH_KS=K BENCH_ONLY=stream`, the target's set-up;
the bare relay always runs first), attaches py-spy to the target's server once its load has
run for WAIT_S (ramp and warm-up), records RECORD_S at RATE_HZ without stopping it, and divides
each part's samples (the frame on top: a part's own time, not what it calls) by the tokens the
load got meanwhile (its tokens/s x RECORD_S): µs of the server's time a token, by part.

    PRICE_TARGET=embedded PRICE_K=100 .venv/bin/python bench/price.py   # or bare, real

py-spy's sampling costs the server CPU too (the bare relay at K = 100: 0.26 → 0.38 cores), so
compare parts and targets with each other, not these totals with a load run's CPU. A sample
whose top frame is the loop's `run` (no Python frame above it) is mostly the interpreter's own
work between frames, not uvloop's or the kernel's (`perf` by library: docs/benchmarks.md,
"Session 21"). Prints a table; the raw samples and the load's figures stay in PRICE_OUT
(default a temp folder). Not part of `make bench`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
TARGET = os.environ.get("PRICE_TARGET", "embedded")
K = int(os.environ.get("PRICE_K", "100"))
OUT = Path(os.environ.get("PRICE_OUT") or tempfile.mkdtemp(prefix="price-"))
WAIT_S, RECORD_S, RATE_HZ = 4.5, 5.0, 250

Rule = Callable[[str, str], bool]  # (the top frame's file, the thread's first frame) -> part?
PARTS: list[tuple[str, Rule]] = [
    ("SQLite's worker thread (fsync, checkpoints)", lambda f, root: root.startswith("Thread")),
    (
        "no Python frame on top: the loop, task steps, frames set up and freed",
        lambda f, _: f == "asyncio/runners.py",
    ),
    (
        "socket frames (uvicorn, websockets, Starlette)",
        lambda f, _: f.split("/")[0] in ("uvicorn", "websockets", "starlette", "fastapi"),
    ),
    (
        "model HTTP client (aiohttp)",
        lambda f, _: f.split("/")[0] in ("aiohttp", "yarl", "multidict", "propcache"),
    ),
    (
        "openai SDK, httpx2, pydantic (the request's set-up)",
        lambda f, _: f.split("/")[0] in ("openai", "httpx2", "httpx", "pydantic", "anyio"),
    ),
    ("model stream's parse (app/ai)", lambda f, _: f.startswith("app/ai/")),
    ("the bare relay's own code (bench/*relay.py)", lambda f, _: f.endswith("relay.py")),
    (
        "the cached session (app/services/interview_session.py)",
        lambda f, _: "interview_session.py" in f,
    ),
    (
        "saves (SQLite on the loop, asyncpg, SQLAlchemy)",
        lambda f, _: (
            f.startswith(("app/core/sqlite_inline", "app/services/turn_saves"))
            or f.startswith("app/core/database")
            or f.split("/")[0] in ("asyncpg", "sqlalchemy", "sqlmodel", "greenlet")
        ),
    ),
    (
        "turn, event log, writer, read gate (app)",
        lambda f, _: f.startswith(("app/services/", "app/api/", "app/core/aio", "app/core/read")),
    ),
    (
        "Redis client (redis-py, hiredis, the in-process Redis)",
        lambda f, _: (
            f.split("/")[0] in ("redis", "hiredis")
            or f.startswith("app/core/redis")
            or f in ("asyncio/streams.py", "asyncio/timeouts.py")
        ),
    ),
]
OTHER = "other"


def part_of(file: str, root: str) -> str:
    for name, rule in PARTS:
        if rule(file, root):
            return name
    return OTHER


def price(raw: Iterable[str], tokens: float, rate_hz: float = RATE_HZ) -> dict[str, float]:
    """µs a token by part, from py-spy's raw lines (`frame;frame;... count`, a frame being
    `function (file:line)`), `tokens` having been delivered while they were sampled; "total"
    is every sample's. A sample stands for 1 / rate_hz s of the server's time."""
    if tokens <= 0:
        raise ValueError("no tokens delivered while sampling: nothing to divide by")
    samples: Counter[str] = Counter()
    for line in raw:
        stack, _, count = line.strip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        top = frames[-1]
        file = top.rpartition(" (")[2].rpartition(":")[0] if " (" in top else ""
        samples[part_of(file, frames[0])] += int(count)
        samples["total"] += int(count)
    per_sample_us = 1e6 / rate_hz / tokens
    return {name: samples[name] * per_sample_us for name in ["total", *dict(PARTS), OTHER]}


def _server_pid(deadline: float) -> int:
    """The target's server, once its load generator runs."""
    mark = "bare_relay:app" if TARGET == "bare" else "app.main:app"
    load = f"--target {'bare' if TARGET == 'bare' else 'hireez'}"
    while time.monotonic() < deadline:
        server = loadgen = None
        for proc in psutil.process_iter(["pid", "cmdline"]):
            line = " ".join(proc.info["cmdline"] or ())
            if mark in line and "uvicorn" in line:
                server = proc.info["pid"]
            elif "loadgen.py" in line and load in line:
                loadgen = proc.info["pid"]
        if server is not None and loadgen is not None:
            return int(server)
        time.sleep(0.1)
    raise SystemExit(f"no {TARGET} server under load within the time allowed")


def main() -> int:
    if TARGET not in ("bare", "embedded", "real"):
        raise SystemExit(f"PRICE_TARGET={TARGET!r}: one of bare, embedded, real")
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    env = {
        **os.environ,
        "BENCH_KS": str(K),
        "BENCH_ONLY": "stream",
        "BENCH_MODES": "" if TARGET == "bare" else TARGET,
        "BENCH_OUT": str(OUT),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "run.log").open("wb") as log:
        bench = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "run.py")], env=env, stdout=log, stderr=log
        )
        try:
            pid = _server_pid(time.monotonic() + 120)
            time.sleep(WAIT_S)
            raw = OUT / "profile.raw"
            record = ["-p", str(pid), "-d", str(int(RECORD_S)), "-r", str(RATE_HZ)]
            subprocess.run(
                [spy, "record", *record, "--nonblocking", "--format", "raw", "-o", str(raw)],
                check=True,
                capture_output=True,
            )
        finally:
            bench.wait(timeout=300)
    load = json.loads((OUT / f"load-{TARGET}-stream-{K}.json").read_text())
    table = price(raw.read_text().splitlines(), load["tokens_per_s"] * RECORD_S)
    print(f"{TARGET}, K = {K}: {load['tokens_per_s']} tokens/s; µs of server time a token")
    for name, us in table.items():
        print(f"| {name} | {us:.1f} |")
    (OUT / "price.json").write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
