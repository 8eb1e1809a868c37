"""The Python calls a model token costs the server, by function: a count that repeats.

The server runs under cProfile (bench/profiled.py), switched on for one answer's turn of
CALLS_N sockets (bench/phases.py's steps), once with CALLS_TOKENS-token replies and once with
2-token ones; the difference over the extra tokens is the calls a token costs, every
function's and in all. cProfile slows the server several times, so its times are not the
server's; the counts are what it runs, and move by ~1 % between runs: they depend on how many
tokens one network read brings, and BENCH_RATE (here 10 unless set) makes each token a read of
its own. A Python call is ~1,000 instructions of the interpreter here (bench/instructions.py
beside these counts, session 22), so this says where a token's work is in a minute, where
instructions.py takes several.

    CALLS_TARGET=embedded .venv/bin/python bench/calls.py     # or bare, real; CALLS_TOP=40
    BENCH_BACKEND=/tmp/other/backend CALLS_TARGET=embedded ...   # another tree
    CALLS_TARGET=real CALLS_N=50 CALLS_CONC=50 BENCH_RATE=50 ...  # nearer a load's windows

CALLS_CONC sockets run the step at a time (10 unless set). With PostgreSQL + Redis a relay
window (5 ms) carries one piece per streaming interview, so at 10 sockets and 10 tokens a
second the relay's one command a window counts about once a token; under load it spreads over
the window's pieces, while the listener's message per interview per window does not.

Prints a table, then one JSON line. Not part of `make bench` or `make test`.
"""

from __future__ import annotations

import asyncio
import json
import os
import pstats
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import phases  # bench/phases.py (this script's folder is on sys.path)
import run  # bench/run.py: the stand-in, the set-ups, the server's flags

TARGET = os.environ.get("CALLS_TARGET", "embedded")
N = int(os.environ.get("CALLS_N", "10"))
TOKENS = int(os.environ.get("CALLS_TOKENS", "100"))
SHORT = 2  # the short reply: the turn's own calls, taken off
TOP = int(os.environ.get("CALLS_TOP", "40"))
CONC = int(os.environ.get("CALLS_CONC", str(run.PHASES_CONC)))

Counts = dict[str, int]


def counts(path: Path) -> Counts:
    """Calls by function (`file:line(name)`, site-packages and the backend folder cut off)."""
    out: Counts = {}
    for (file, line, name), row in pstats.Stats(str(path)).stats.items():  # type: ignore[attr-defined]
        short = file.split("site-packages/")[-1].split("/backend/")[-1]
        key = f"{short}:{line}({name})"
        out[key] = out.get(key, 0) + row[1]
    return out


def per_token(long: Counts, short: Counts, extra_tokens: int) -> list[tuple[float, str]]:
    """Each function's calls a token (the long run's less the short one's, over the extra
    tokens), most first, with "total" first of all."""
    if extra_tokens <= 0:
        raise ValueError("the long reply must have more tokens than the short one")
    rows = [((long.get(k, 0) - short.get(k, 0)) / extra_tokens, k) for k in set(long) | set(short)]
    rows.sort(key=lambda r: (-r[0], r[1]))
    total = (sum(long.values()) - sum(short.values())) / extra_tokens
    return [(total, "total"), *rows]


def record(tokens: int, out: Path) -> Counts:
    """One server, `tokens`-token replies: the answer step's calls."""
    work = Path(tempfile.mkdtemp(prefix="hireez-calls-"))
    bench = run.Bench()
    standin, standin_url = run.start_standin(bench, tokens, work / "standin.log")
    server = target = None
    try:
        if TARGET == "bare":
            target = run.Target("bare")
        else:
            target = run.prepare_hireez(bench, TARGET, standin_url, N)
            target.env.update(run.SLOWED_SERVER_ENV)
        prefix = str(out / f"calls-{tokens}")
        os.environ["CALLS_OUT"] = prefix  # (the bare relay's environment is this one's)
        target.env["CALLS_OUT"] = prefix
        started = run.start_server(
            bench,
            target,
            standin_url,
            work / "server.log",
            (run.PY, str(run.BENCH / "profiled.py")),
        )
        server = started.proc
        pid = server.pid

        def on_step(name: str, starting: bool) -> None:
            if name == "answer":
                os.kill(pid, signal.SIGUSR1 if starting else signal.SIGUSR2)

        creds = json.loads(target.creds.read_text())[:N] if target.creds else None
        result = asyncio.run(phases.measure(started.url, pid, creds, N, CONC, on_step, 1.0))
        if result["errors"]:
            raise SystemExit(f"the steps failed: {result['errors'][:3]}")
        dump = Path(f"{prefix}.0")
        for _ in range(100):  # written by the server's signal handler
            if dump.exists():
                break
            time.sleep(0.1)
        time.sleep(0.5)
        return counts(dump)
    finally:
        run.tear_down(server, standin, target)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    if TARGET not in ("bare", "embedded", "real"):
        raise SystemExit(f"CALLS_TARGET={TARGET!r}: one of bare, embedded, real")
    run.RATE = float(os.environ.get("BENCH_RATE", "10"))  # the stand-in's tokens a second
    out = Path(tempfile.mkdtemp(prefix="calls-"))
    try:
        rows = per_token(record(TOKENS, out), record(SHORT, out), (TOKENS - SHORT) * N)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"calls a token, {TARGET} ({run.BACKEND}):")
    for value, name in rows[: TOP + 1]:
        if value:
            print(f"{value:8.2f}  {name}")
    print(json.dumps({"target": TARGET, "calls_per_token": round(rows[0][0], 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
