"""The instructions the HireEz server runs for one step of a socket's life: an A/B that repeats.

`BENCH_ONLY=phases` reads the server's CPU time per step, which moves by 10-20 % between runs of
the same code on this VM; valgrind's callgrind counts the instructions the server runs (every
thread, user space; not the kernel's work for its system calls), which repeat within ~1-2 %
in most sets, 5 % at worst seen (docs/benchmarks-history.md, "Session 12's changes"). The server
starts under callgrind with its counting off (a few times slower, not the ~50x of counting),
bench/phases.py's steps run for N sockets, and the count is switched on for the one step
measured, then divided by N.

    INSTR_STEP=answer INSTR_MODE=embedded .venv/bin/python bench/instructions.py
    BENCH_BACKEND=/tmp/other/backend INSTR_STEP=start INSTR_MODE=real ...   # another tree

INSTR_STEP: login | ticket | handshake | start | answer (default answer); INSTR_MODE: embedded |
real (PostgreSQL + Redis, as `make bench` sets them up); INSTR_N sockets (default 30);
INSTR_TOKENS, the stand-in's reply in tokens (default 2: a turn's cost). A longer reply, less the
2-token count, over the extra tokens gives the stream's cost a token, but only roughly: how many
tokens one network read brings, and how many the relay's 5 ms windows gather, depend on how fast
the server runs under valgrind, so these counts move by 20 % and more between runs (the 2-token
ones by ~1-5 %). Slowed so that every token is a read of its own (`INSTR_TOKENS=100
BENCH_RATE=10 INSTR_N=10`: ten 100-token replies at 10 tokens/s) two runs of the same code were
~3 % apart (session 15: ~176k instructions a token, embedded). Prints one JSON line. Needs
valgrind (Debian's package); not part of `make bench` or `make test`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import phases  # bench/phases.py (this script's folder is on sys.path)
import run  # bench/run.py: the stand-in, the set-ups, the server's flags

STEP = os.environ.get("INSTR_STEP", "answer")
MODE = os.environ.get("INSTR_MODE", "embedded")
N = int(os.environ.get("INSTR_N", "30"))
TOKENS = int(os.environ.get("INSTR_TOKENS", str(phases.REPLY_TOKENS)))
SETTLE_S = 3.0  # the server's trailing work, counted too, is slower under valgrind


def count(dump_dir: Path) -> int:
    """Instructions in the dumps `callgrind_control -d` asked for (`callgrind.<pid>.<n>`, their
    `summary:` or `totals:` line); not the one at exit (`callgrind.<pid>`), which counted
    nothing."""
    total = 0
    for path in dump_dir.glob("callgrind.*.*"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith(("summary:", "totals:")):
                total += int(line.split()[1])
                break
    return total


def main() -> int:
    if STEP not in phases.STEPS or MODE not in ("embedded", "real"):
        print(f"INSTR_STEP must be one of {phases.STEPS}, INSTR_MODE embedded or real")
        return 2
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)")
        return 2
    work = Path(tempfile.mkdtemp(prefix="hireez-instr-"))
    bench = run.Bench()
    standin, standin_url = run.start_standin(bench, TOKENS, work / "standin.log")
    server: subprocess.Popen[bytes] | None = None
    target = None
    try:
        target = run.prepare_hireez(bench, MODE, standin_url, N)
        dumps = work / "dumps"
        dumps.mkdir()
        target.env.update(run.SLOWED_SERVER_ENV)
        callgrind = (
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={dumps}/callgrind.%p",
        )
        started = run.start_server(
            bench, target, standin_url, work / "server.log", callgrind, ready_timeout=600
        )
        server, url = started.proc, started.url
        pid = str(server.pid)

        def on_step(name: str, starting: bool) -> None:
            if name != STEP:
                return
            if starting:
                subprocess.run(
                    ["callgrind_control", "-i", "on", pid], check=True, capture_output=True
                )
            else:  # a dump of what was counted, then counting off again
                subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
                subprocess.run(
                    ["callgrind_control", "-i", "off", pid], check=True, capture_output=True
                )

        assert target.creds is not None
        creds = json.loads(target.creds.read_text())[:N]
        result = asyncio.run(
            phases.measure(url, server.pid, creds, N, run.PHASES_CONC, on_step, SETTLE_S)
        )
        run.stop(server, 60)
        server = None
        out = {
            "step": STEP,
            "mode": MODE,
            "n": N,
            "reply_tokens": TOKENS,
            "backend": str(run.BACKEND),
            "instructions_per_socket": round(count(dumps) / N),
            "errors": result["errors"][:3],
        }
        print(json.dumps(out))
        return 1 if result["errors"] else 0
    finally:
        run.tear_down(server, standin, target)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
