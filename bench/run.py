"""`make bench`: HireEz against a bare relay under the same load, in one run.

Starts the OpenAI-compatible stand-in (benchmark mode: N stamped tokens a reply at R tokens/s),
then for every scenario a fresh server process, HireEz (embedded: SQLite + in-process Redis;
real: PostgreSQL + Redis) or the bare relay (`bench/bare_relay.py`), and the load generator
(`bench/loadgen.py`, a separate process) against it. The server runs alone on one CPU (the
last one), the stand-in and the load generator share the others. Writes
`bench/results/bench.json` and `bench/results/bench.md` and prints the markdown. The quick
run, which checks for errors only, runs each set-up on one server for all its steps and the
set-ups side by side, unpinned.

    .venv/bin/python bench/run.py            # the full run, < 10 minutes on 2 cores
    BENCH_QUICK=1 .venv/bin/python bench/run.py   # a smoke run, under a minute

Environment: BENCH_QUICK=1 (smoke), BENCH_MODES=embedded,real (which HireEz set-ups),
BENCH_PIN=0 (no CPU pinning), BENCH_PG_URL (admin DSN, default postgres@127.0.0.1:5432),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/14, flushed before and after),
BENCH_TOKENS (100) and BENCH_RATE (50), BENCH_OUT (results folder), BENCH_BACKEND (the
backend tree to measure, default this checkout's `backend/`), BENCH_BARE_CMD (an independent
bare relay in place of bench/bare_relay.py: a command with `{port}`, and `{model_url}` if it
wants it, e.g. `node relay.js --port {port} --model {model_url}`; it must serve the bare
relay's protocol at `/ws` on 127.0.0.1:{port}), BENCH_ONLY=stream|idle (a
partial run), BENCH_ONLY=phases (the server's CPU per step of a socket's life alone:
bench/phases.py; the quick run does it too, for 10 sockets).

Exit status 1 when any run had errors (protocol errors, lost or duplicated chunks, failed
connections, a server that crashed or logged a traceback); timings never fail a run, they
are reported against the targets of issue 7.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import resource
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phases  # bench/phases.py (this script's folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
# the HireEz backend to measure (default: this checkout's; another tree for an A/B run)
BACKEND = Path(os.environ.get("BENCH_BACKEND", str(ROOT / "backend"))).resolve()
BENCH = ROOT / "bench"
PY = sys.executable
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
TOKENS = int(os.environ.get("BENCH_TOKENS", "20" if QUICK else "100"))
RATE = float(os.environ.get("BENCH_RATE", "50"))
OUT = Path(os.environ.get("BENCH_OUT", str(BENCH / "results")))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# an independent bare relay for a side-by-side run (see above); empty: bench/bare_relay.py
BARE_CMD = os.environ.get("BENCH_BARE_CMD", "").strip()
LATENCY_BUDGET_MS = 50.0
KEEP_UP = 0.8  # "under 50 ms" also needs >= 80 % of the offered tokens delivered
MAX_WAIT_S = 20.0 if QUICK else 8.0  # for every socket to be open before measuring
# the think-time run reads the idle memory once every socket is open, greeted and idle: 1000
# greetings of 100 tokens take a server well over 8 s, and a reading taken earlier counts the
# greetings still streaming as idle sockets' memory
IDLE_MAX_WAIT_S = 20.0 if QUICK else 40.0
STANDIN_PID = [0]
PHASES_N = 10 if QUICK else 200  # sockets of the per-step CPU run (bench/phases.py)
PHASES_CONC = 10
# What fails a full run: the stream itself went wrong, or the server died. Past capacity a full
# run also meets refused or timed-out connections and failed turns (pool timeouts): those are
# reported (they are findings), but they fail only the quick run, whose load is far below it.
INTEGRITY_ERRORS = frozenset(
    {
        "seq_order",
        "chunk_order",
        "chunk_stream",
        "end_stream",
        "lost_or_duplicated",
        "reply_tokens",
        "no_thinking",
        "unexpected_frame",
        "server_crashed",
        "loadgen_failed",
    }
)
# the whole run must end within 10 minutes: the probes for the largest K (after the sweep,
# before the think-time run, which takes ~3 minutes for the three targets) end by this mark: a
# round of probes starts only if, at the pace of the probes so far, it ends by then; a full
# run takes 480-550 s
TIME_BUDGET_S = 120.0 if QUICK else 360.0
PROBE_S = 16.0  # a probe's time before any has run (server start, ramp, warm-up, window)
UVICORN_FLAGS = [
    "--host",
    "127.0.0.1",
    "--ws",
    "websockets-sansio",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--ws-per-message-deflate",
    "false",
    "--log-level",
    "warning",
    "--no-access-log",
]


@dataclass
class Scenario:
    name: str
    k: int
    think: float = 0.0
    measure: float = 8.0
    warmup: float = 3.0

    @property
    def ramp(self) -> float:
        return max(1.0, self.k / 200)


if QUICK:
    SWEEP = [Scenario("stream", 20, measure=2.0, warmup=1.0)]
    IDLE = Scenario("idle", 30, think=1.0, measure=2.0, warmup=0.5)
    PROBES = 0
else:
    SWEEP = [Scenario("stream", k, measure=5.0, warmup=1.5) for k in (100, 250, 500, 1000)]
    IDLE = Scenario("idle", 1000, think=20.0, measure=16.0, warmup=2.0)
    PROBES = 2
if os.environ.get("BENCH_KS"):  # a partial sweep, no probes (not make bench): BENCH_KS=100,250
    SWEEP = [
        Scenario("stream", int(k), measure=5.0, warmup=1.5)
        for k in os.environ["BENCH_KS"].split(",")
    ]
    PROBES = 0


@dataclass
class Bench:
    started: float = field(default_factory=time.monotonic)
    results: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    overload: list[str] = field(default_factory=list)  # errors past capacity (full run)
    notes: list[str] = field(default_factory=list)
    server_cpus: set[int] = field(default_factory=set)
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)  # target -> phases.measure
    helper_cpus: set[int] = field(default_factory=set)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def log(self, text: str) -> None:
        print(f"[{self.elapsed():6.1f}s] {text}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cpus: set[int]) -> Any:
    def setup() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    return setup


def bare_command(template: str, port: int, model_url: str) -> list[str]:
    """BENCH_BARE_CMD for one server: `{port}` and `{model_url}` filled in, split as a shell
    would. ValueError, saying what is wrong, for a template that cannot start a relay."""
    if "{port}" not in template:
        raise ValueError("BENCH_BARE_CMD must contain {port}: the relay's port on 127.0.0.1")
    try:
        command = template.format(port=port, model_url=model_url)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"BENCH_BARE_CMD: {exc!r}: only {{port}} and {{model_url}} are filled in "
            "(write a literal brace as {{ or }})"
        ) from None
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"BENCH_BARE_CMD: {exc}") from None


def bare_relay_name() -> str:
    return f"BENCH_BARE_CMD `{BARE_CMD}`" if BARE_CMD else "bench/bare_relay.py"


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback)
                resp.read()
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# -- set-ups --------------------------------------------------------------------------------
@dataclass
class Target:
    """Something to measure: the bare relay, or HireEz in one set-up (mode)."""

    name: str  # bare | embedded | real
    env: dict[str, str] = field(default_factory=dict)
    creds: Path | None = None
    offset: int = 0
    cleanup: list[Any] = field(default_factory=list)
    shared: Server | None = None  # the quick run: one server for all of this set-up's steps

    @property
    def is_bare(self) -> bool:
        return self.name == "bare"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _redis_flush() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def prepare_hireez(bench: Bench, mode: str, standin: str, interviews: int) -> Target:
    workdir = Path(tempfile.mkdtemp(prefix=f"hireez-bench-{mode}-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(BACKEND),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATA_DIR": str(workdir / "data"),
        "LLM_PROVIDER": "openai",
        "OPENAI_BASE_URL": standin + "/v1",
        "OPENAI_API_KEY": "bench",
        "EVALUATION_BACKEND": "inprocess",
        "WS_RATE_LIMIT_PER_MIN": "100000",
        "LOG_LEVEL": "WARNING",
    }
    target = Target(mode, env=env)
    target.cleanup.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
    if mode == "embedded":
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir}/bench.db"
        env["REDIS_URL"] = "memory://"
    else:
        db = f"hireez_bench_{os.getpid()}"
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{db}"'))
        asyncio.run(_pg(f'CREATE DATABASE "{db}"'))
        target.cleanup.append(lambda: asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{db}" (FORCE)')))
        _redis_flush()
        target.cleanup.append(_redis_flush)
        env["DATABASE_URL"] = (
            "postgresql+asyncpg://" + PG_URL.split("://", 1)[1].rsplit("/", 1)[0] + f"/{db}"
        )
        env["REDIS_URL"] = REDIS_URL
    subprocess.run(
        [PY, "-m", "alembic", "upgrade", "head"],
        cwd=BACKEND,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    target.creds = workdir / "creds.json"
    subprocess.run(
        [PY, str(BENCH / "seed_data.py"), "--count", str(interviews), "--out", str(target.creds)],
        cwd=BACKEND,
        env=env,
        check=True,
        timeout=180,
    )
    bench.log(f"{mode}: database migrated, {interviews} interviews seeded")
    return target


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    read: int = 0  # bytes of its log already searched for tracebacks

    def new_tracebacks(self) -> int:
        """Tracebacks its log gained since the last call (a shared server's log spans steps)."""
        text = self.log.read_bytes()[self.read :]
        self.read += len(text)
        return text.count(b"Traceback")


def start_server(
    bench: Bench,
    target: Target,
    standin: str,
    log: Path,
    prefix: tuple[str, ...] = (),
    ready_timeout: float = 40.0,
) -> Server:
    """The target's server on a free port, once it answers; `prefix`: a command it runs under
    (bench/instructions.py: valgrind), which may start it far slower."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    uvicorn = [*UVICORN_FLAGS, "--port", str(port)]
    if target.is_bare:
        model_url = standin + "/v1"
        cmd = (
            bare_command(BARE_CMD, port, model_url)
            if BARE_CMD
            else [PY, "-m", "uvicorn", "bare_relay:app", "--app-dir", str(BENCH), *uvicorn]
        )
        env = {**os.environ, "BARE_MODEL_URL": model_url}
        cwd, ready = ROOT, url + "/"  # any HTTP answer will do (a relay may serve /ws only)
    else:
        cmd = [PY, "-m", "uvicorn", "app.main:app", *uvicorn]
        env, cwd, ready = target.env, BACKEND, url + "/api/v1/health"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [*prefix, *cmd],
            cwd=cwd,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            preexec_fn=pinned(bench.server_cpus),
        )
    wait_http(ready, proc, ready_timeout)
    return Server(proc, url, log)


def server_for(
    bench: Bench, target: Target, standin: str, log: Path
) -> tuple[Server, Callable[[], None]]:
    """The target's shared server (the quick run), or a new one and what stops it."""
    if target.shared is not None:
        return target.shared, lambda: None
    server = start_server(bench, target, standin, log)
    return server, lambda: stop(server.proc)


def run_scenario(
    bench: Bench, target: Target, sc: Scenario, standin: str, probe: bool = False
) -> dict[str, Any]:
    label = f"{target.name} {sc.name} K={sc.k}" + (" (probe)" if probe else "")
    log = OUT / f"server-{target.name}-{sc.name}-{sc.k}{'-probe' if probe else ''}.log"
    server, done = server_for(bench, target, standin, log)
    proc, url = server.proc, server.url
    max_wait = IDLE_MAX_WAIT_S if sc.think > 0 else MAX_WAIT_S
    out = OUT / f"load-{target.name}-{sc.name}-{sc.k}{'-probe' if probe else ''}.json"
    cmd = [
        PY,
        str(BENCH / "loadgen.py"),
        "--target",
        "bare" if target.is_bare else "hireez",
        "--url",
        url,
        "--k",
        str(sc.k),
        "--think",
        str(sc.think),
        "--ramp",
        str(sc.ramp),
        "--warmup",
        str(sc.warmup),
        "--measure",
        str(sc.measure),
        "--tokens",
        str(TOKENS),
        "--server-pid",
        str(proc.pid),
        "--standin",
        standin,
        "--standin-pid",
        str(STANDIN_PID[0]),
        "--max-wait",
        str(max_wait),
        "--out",
        str(out),
    ]
    if target.creds is not None:
        cmd += ["--creds", str(target.creds), "--offset", str(target.offset)]
        target.offset += sc.k
    limit = 30 + sc.ramp + max_wait + sc.warmup + sc.measure + 60
    result: dict[str, Any]
    try:
        subprocess.run(cmd, check=True, timeout=limit, preexec_fn=pinned(bench.helper_cpus))
        result = json.loads(out.read_text())
    except (subprocess.SubprocessError, OSError, ValueError) as exc:
        result = {"errors": {"loadgen_failed": 1}, "error_samples": [repr(exc)]}
    crashed = proc.poll() is not None
    if not target.is_bare and not crashed:  # the server's own view (turn timings), for reading
        metrics_url = url + "/metrics"
        with contextlib.suppress(OSError), urllib.request.urlopen(metrics_url, timeout=5) as resp:  # noqa: S310
            log.with_suffix(".metrics.txt").write_bytes(resp.read())
    done()
    tracebacks = server.new_tracebacks()
    if crashed:
        result.setdefault("errors", {})["server_crashed"] = 1
    if tracebacks:
        result.setdefault("errors", {})["server_tracebacks"] = tracebacks
    result.update(target=target.name, scenario=sc.name, k=sc.k, think_s=sc.think, probe=probe)
    errors = sum(result.get("errors", {}).values())
    if errors:
        samples = result.get("error_samples", [])[:3]
        line = f"{label}: {result.get('errors')} {samples}"
        fatal = QUICK or any(kind in INTEGRITY_ERRORS for kind in result.get("errors", {}))
        (bench.failures if fatal else bench.overload).append(line)
    lat = result.get("chunk_latency_ms", {})
    bench.log(
        f"{label}: chunk p50/p99 {lat.get('p50')}/{lat.get('p99')} ms, "
        f"{result.get('tokens_per_s')} tokens/s, cpu {result.get('server_cpu')}, "
        f"errors {errors}"
    )
    bench.results.append(result)
    return result


# a server under a profiler or valgrind runs several times slower: the turn's and the socket's
# timers, far longer than a slowed-down step (bench/instructions.py, bench/calls.py)
SLOWED_SERVER_ENV = {
    "AI_TIMEOUT_SEC": "120",
    "WS_HEARTBEAT_INTERVAL_SEC": "300",
    "WS_HEARTBEAT_TIMEOUT_SEC": "600",
}


def tear_down(
    server: subprocess.Popen[bytes] | None, standin: subprocess.Popen[bytes], target: Target | None
) -> None:
    """The end of a one-server measurement (bench/instructions.py, bench/calls.py): the server
    (given a minute: under a profiler it is slow), the stand-in, the set-up's databases."""
    if server is not None:
        stop(server, 60)
    stop(standin)
    for cleanup in target.cleanup if target is not None else []:
        cleanup()


def start_standin(bench: Bench, tokens: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The OpenAI-compatible stand-in in benchmark mode: `tokens` stamped tokens a reply."""
    port = free_port()
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                PY,
                "-m",
                "tests.support.openai_standin",
                "--port",
                str(port),
                "--bench-tokens",
                str(tokens),
                "--bench-rate",
                str(RATE),
            ],
            cwd=BACKEND,
            env={**os.environ, "PYTHONPATH": str(BACKEND)},
            stdout=fh,
            stderr=subprocess.STDOUT,
            preexec_fn=pinned(bench.helper_cpus),
        )
    return proc, f"http://127.0.0.1:{port}"


def run_quick(bench: Bench, targets: list[Target], standin: str) -> None:
    """The smoke run (it fails on errors only, never on timings): each set-up on one server of
    its own for all its steps (per-step CPU, the sweep, the think-time run), the set-ups side by
    side, nothing pinned. A full run starts a server per step and runs one step at a time."""

    def steps(target: Target) -> None:
        log = OUT / f"server-{target.name}-quick.log"
        target.shared = server = start_server(bench, target, standin, log)
        try:
            run_phases(bench, target, standin)
            for sc in [*SWEEP, IDLE]:
                run_scenario(bench, target, sc, standin)
        finally:
            target.shared = None
            stop(server.proc)  # each step saw whether it had crashed
            if tracebacks := server.new_tracebacks():
                bench.failures.append(f"{target.name}: {tracebacks} traceback(s) while stopping")

    bench.notes.append(
        "quick run: the set-ups ran side by side, each on one server for all its steps, nothing "
        "pinned: its timings are not comparable with a full run's (it checks for errors)"
    )
    with ThreadPoolExecutor(len(targets)) as pool:
        list(pool.map(steps, targets))


def run_phases(bench: Bench, target: Target, standin: str) -> None:
    """The server's CPU per step of a socket's life (bench/phases.py), against a stand-in
    that replies with phases.REPLY_TOKENS tokens (the quick run: its shared server's stand-in,
    TOKENS tokens)."""
    log = OUT / f"server-{target.name}-phases.log"
    first = target.offset  # its own credentials, as run_scenario takes its K
    target.offset += PHASES_N
    if not target.is_bare and target.shared is None:  # pointed at the short-reply stand-in
        target = Target(
            target.name,
            env={**target.env, "OPENAI_BASE_URL": standin + "/v1"},
            creds=target.creds,
        )
    server, done = server_for(bench, target, standin, log)
    proc, url = server.proc, server.url
    creds = None
    if target.creds is not None:
        creds = json.loads(target.creds.read_text())[first : first + PHASES_N]
    try:
        result = asyncio.run(phases.measure(url, proc.pid, creds, PHASES_N, PHASES_CONC))
    except Exception as exc:
        result = {"cpu_ms": {}, "errors": [repr(exc)]}
    crashed = proc.poll() is not None
    done()
    tracebacks = server.new_tracebacks()
    errors = list(result["errors"])
    if crashed:
        errors.append("server crashed")
    if tracebacks:
        errors.append(f"{tracebacks} traceback(s) in the server's log")
    if errors:
        bench.failures.append(f"{target.name} phases: {errors[:3]}")
    result["reply_tokens"] = TOKENS if target.shared is not None else phases.REPLY_TOKENS
    bench.phases[target.name] = result
    bench.log(f"{target.name} phases: server CPU ms per socket {result['cpu_ms']}")


def p99(result: dict[str, Any]) -> float:
    value = result.get("chunk_latency_ms", {}).get("p99")
    return float("inf") if value is None else float(value)


def delivered(result: dict[str, Any]) -> float:
    """Tokens delivered per second over the offered rate (K x RATE): a server that stalls its
    turns streams to few sockets at a time and would look fast by chunk latency alone."""
    return float(result.get("tokens_per_s") or 0) / (result["k"] * RATE)


def passes(result: dict[str, Any]) -> bool:
    return (
        p99(result) < LATENCY_BUDGET_MS
        and delivered(result) >= KEEP_UP
        and not result.get("errors")
    )


@dataclass
class ProbeSearch:
    """One target's search for its largest K (all streaming) with p99 chunk latency under
    50 ms: between the largest K that passed (`lo`, 0: none) and the smallest above it that
    failed (`hi`, None: none did), a probe at the midpoint (to 10) narrows it."""

    lo: int
    hi: int | None

    @classmethod
    def from_sweep(cls, sweep: list[dict[str, Any]]) -> ProbeSearch:
        ok = [r["k"] for r in sweep if passes(r)]
        lo = max(ok) if ok else 0
        above = [r["k"] for r in sweep if r["k"] > lo and not passes(r)]
        return cls(lo, min(above) if above else None)

    def next_k(self) -> int | None:
        """The K to probe next; None when there is nothing between `lo` and `hi` to try."""
        if self.hi is None:
            return None
        mid = int(round((self.lo + self.hi) / 2 / 10) * 10)
        return None if mid in (self.lo, self.hi) else mid

    def record(self, k: int, passed: bool) -> None:
        if passed:
            self.lo = k
        else:
            self.hi = k

    def verdict(self) -> str:
        if self.hi is None:
            return f">= {self.lo}"
        return f"{self.lo} (fails at {self.hi})" if self.lo else f"< {self.hi}"


def largest_ks(
    bench: Bench,
    targets: list[Target],
    sweeps: dict[str, list[dict[str, Any]]],
    probe: Callable[[Target, int], dict[str, Any]],
    rounds: int,
) -> dict[str, str]:
    """Every target's largest K under 50 ms, from its sweep and up to `rounds` probes each.

    The probes go in rounds, each target's probe of a round right after the others' (bare,
    embedded, PostgreSQL + Redis), not one target's probes and then the next's: this VM's pace
    changes from minute to minute (the bare relay's K = 140 p99 went 25-156 ms within an hour,
    docs/benchmarks.md), and the targets are compared with each other. A round starts only if,
    at the pace of the probes so far, it ends by TIME_BUDGET_S, so the time budget takes a
    whole round from every target, never the last target's probes alone."""
    searches = {t.name: ProbeSearch.from_sweep(sweeps[t.name]) for t in targets}
    took: list[float] = []
    for _ in range(rounds):
        due = [(t, k) for t in targets if (k := searches[t.name].next_k()) is not None]
        if not due:
            break
        pace = sum(took) / len(took) if took else PROBE_S
        if bench.elapsed() + pace * len(due) > TIME_BUDGET_S:
            bench.notes.append(
                f"probes for the largest K stopped by the time budget: "
                f"{', '.join(t.name for t, _ in due)} had more to try"
            )
            break
        for target, k in due:
            began = bench.elapsed()
            searches[target.name].record(k, passes(probe(target, k)))
            took.append(bench.elapsed() - began)
    return {name: search.verdict() for name, search in searches.items()}


def run_probe(bench: Bench, standin: str) -> Callable[[Target, int], dict[str, Any]]:
    def probe(target: Target, k: int) -> dict[str, Any]:
        return run_scenario(
            bench, target, Scenario("stream", k, measure=4.0, warmup=1.5), standin, True
        )

    return probe


# -- report ---------------------------------------------------------------------------------
def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return str(value)


def ratio(a: Any, b: Any) -> str:
    if a is None or b is None or not b:
        return "-"
    return f"{a / b:.2f}x"


FIGURES: list[tuple[str, Any]] = [
    ("chunk latency p50 (ms)", lambda r: r.get("chunk_latency_ms", {}).get("p50")),
    ("chunk latency p95 (ms)", lambda r: r.get("chunk_latency_ms", {}).get("p95")),
    ("chunk latency p99 (ms)", lambda r: r.get("chunk_latency_ms", {}).get("p99")),
    ("time to `thinking` p50 (ms)", lambda r: r.get("thinking_ms", {}).get("p50")),
    ("time to `thinking` p99 (ms)", lambda r: r.get("thinking_ms", {}).get("p99")),
    ("time to first chunk p50 (ms)", lambda r: r.get("first_chunk_ms", {}).get("p50")),
    ("time to first chunk p99 (ms)", lambda r: r.get("first_chunk_ms", {}).get("p99")),
    ("`pong` p99 while streaming (ms)", lambda r: r.get("pong_streaming_ms", {}).get("p99")),
    ("`pong` p99, all (ms)", lambda r: r.get("pong_ms", {}).get("p99")),
    ("tokens delivered /s", lambda r: r.get("tokens_per_s")),
    (
        "delivered / offered (K x rate)",
        lambda r: round(delivered(r), 2) if "k" in r and not r.get("think_s") else None,
    ),
    ("frames /s (chunk frames)", lambda r: r.get("chunk_frames_per_s")),
    ("server CPU (cores)", lambda r: r.get("server_cpu")),
    ("of which in the kernel (cores)", lambda r: r.get("server_cpu_system")),
    ("server CPU per token (µs)", lambda r: r.get("server_cpu_us_per_token")),
    ("server RSS max (MiB)", lambda r: r.get("server_rss_mib")),
    ("memory per idle socket (KiB)", lambda r: r.get("idle_kib_per_socket")),
    ("sockets idle when memory read", lambda r: r.get("idle_greeted")),
    ("load generator CPU (cores)", lambda r: r.get("loadgen_cpu")),
    ("stand-in tokens /s", lambda r: r.get("standin", {}).get("tokens_per_s")),
    ("stand-in CPU (cores)", lambda r: r.get("standin_cpu")),
    ("other tenants' CPU (cores)", lambda r: r.get("other_cores")),
    ("sockets open after (s)", lambda r: r.get("ready_s")),
    ("sockets open at window start", lambda r: r.get("connected_at_window_start")),
    ("errors", lambda r: sum(r.get("errors", {}).values())),
]


def markdown(bench: Bench, meta: dict[str, Any], largest: dict[str, str]) -> str:
    modes = [m for m in ("embedded", "real") if any(r["target"] == m for r in bench.results)]
    label = {"embedded": "HireEz embedded", "real": "HireEz PG+Redis"}
    lines = [
        f"# Benchmark results ({'quick smoke' if QUICK else 'full run'})",
        "",
        f"- when: {meta['when']}; took {meta['took_s']} s",
        f"- machine: {meta['machine']}",
        f"- versions: {meta['versions']}",
        f"- model stand-in: {TOKENS} tokens a reply at {RATE:g} tokens/s; "
        f"server pinned to CPU {meta['server_cpus']}, stand-in + load generator on "
        f"{meta['helper_cpus']}",
        f"- bare relay: {meta['bare_relay']}",
        "",
    ]
    scenarios = [(sc.name, sc.k, sc.think) for sc in [*SWEEP, IDLE]]
    if bench.phases:
        lines += phases_markdown(bench)
    for name, k, think in scenarios:
        runs = {
            r["target"]: r
            for r in bench.results
            if r["scenario"] == name and r["k"] == k and not r.get("probe")
        }
        if not runs:
            continue
        what = "all streaming" if think == 0 else f"connected, {think:g} s think time"
        lines += [f"## K = {k}, {what}", ""]
        head = ["figure", "bare"]
        for mode in modes:
            head += [label[mode], "ratio"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        bare = runs.get("bare", {})
        for title, get in FIGURES:
            base = get(bare) if bare else None
            row = [title, fmt(base)]
            for mode in modes:
                value = get(runs[mode]) if mode in runs else None
                row += [fmt(value), ratio(value, base) if title != "errors" else ""]
            if all(cell in ("-", "") for cell in row[1:]):
                continue
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    lines += [
        "## Largest K (all streaming) with p99 chunk latency under 50 ms",
        "",
        f"(and at least {KEEP_UP:.0%} of the offered K x {RATE:g} tokens/s delivered, no errors)",
        "",
    ]
    lines += ["| target | largest K |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in largest.items()]
    lines.append("")
    if bench.notes:
        lines += ["Notes:", "", *[f"- {n}" for n in bench.notes], ""]
    lines += ["## Errors (fail the run)", ""]
    lines += [f"- {f}" for f in bench.failures] or ["none"]
    if bench.overload:
        lines += ["", "## Failures past capacity (reported, do not fail a full run)", ""]
        lines += [f"- {f}" for f in bench.overload]
    return "\n".join(lines) + "\n"


def phases_markdown(bench: Bench) -> list[str]:
    names = [t for t in ("bare", "embedded", "real") if t in bench.phases]
    label = {"bare": "bare", "embedded": "HireEz embedded", "real": "HireEz PG+Redis"}
    rows = {
        "login": "log in (`POST /auth/login`)",
        "ticket": "ticket (`POST /auth/ws-ticket`)",
        "handshake": "socket's handshake",
        "start": "`start` and its greeting turn",
        "answer": "one answer and its reply turn",
    }
    lines = [
        "## Server CPU per step of a socket's life (ms)",
        "",
        f"({PHASES_N} sockets, {PHASES_CONC} at a time, each step for all before the next; "
        f"replies of {bench.phases[names[0]].get('reply_tokens')} tokens: bench/phases.py)",
        "",
        "| step | " + " | ".join(label[n] for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for step in phases.STEPS:
        cells = [fmt(bench.phases[n].get("cpu_ms", {}).get(step)) for n in names]
        lines.append(f"| {rows[step]} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def versions() -> str:
    out = [f"Python {platform.python_version()}"]
    from importlib.metadata import PackageNotFoundError, version

    for name in ("uvicorn", "websockets", "fastapi", "starlette", "openai", "orjson", "uvloop"):
        with contextlib.suppress(PackageNotFoundError):
            out.append(f"{name} {version(name)}")
    return ", ".join(out)


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} x {cpu}, {mem:.0f} GiB, Linux {platform.release()}"


# -- main -----------------------------------------------------------------------------------
def main() -> int:
    if BARE_CMD:
        try:
            bare_command(BARE_CMD, 8000, "http://127.0.0.1:8001/v1")
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
    bench = Bench()
    OUT.mkdir(parents=True, exist_ok=True)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2 and os.environ.get("BENCH_PIN", "1") != "0" and not QUICK:
        bench.server_cpus, bench.helper_cpus = {cpus[-1]}, set(cpus[:-1])
    modes = [m for m in os.environ.get("BENCH_MODES", "embedded,real").split(",") if m]
    if "real" in modes and not (reachable("127.0.0.1", 5432) and reachable("127.0.0.1", 6379)):
        bench.notes.append("PostgreSQL + Redis not reachable on 127.0.0.1: real mode skipped")
        modes.remove("real")
    standin_proc, standin = start_standin(bench, TOKENS, OUT / "standin.log")
    helpers: list[subprocess.Popen[bytes]] = [standin_proc]
    targets: list[Target] = [Target("bare")]
    largest: dict[str, str] = {}
    STANDIN_PID[0] = standin_proc.pid
    only = os.environ.get("BENCH_ONLY", "")  # stream | idle | phases: a partial run
    try:
        wait_http(standin + "/v1/models", standin_proc)
        need = sum(sc.k for sc in [*SWEEP, IDLE]) + PROBES * max(sc.k for sc in SWEEP)
        need += PHASES_N
        with ThreadPoolExecutor(max(1, len(modes))) as pool:  # the set-ups side by side
            targets += pool.map(lambda mode: prepare_hireez(bench, mode, standin, need), modes)
        if QUICK:
            run_quick(bench, targets, standin)
            streams = {
                t.name: [
                    r for r in bench.results if (r["target"], r["scenario"]) == (t.name, "stream")
                ]
                for t in targets
            }
            largest = largest_ks(bench, targets, streams, run_probe(bench, standin), PROBES)
        if only == "phases":
            short_proc, short = start_standin(bench, phases.REPLY_TOKENS, OUT / "standin-short.log")
            helpers.append(short_proc)
            wait_http(short + "/v1/models", short_proc)
            for target in targets:
                run_phases(bench, target, short)
        if only not in ("idle", "phases") and not QUICK:
            sweeps: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
            for sc in SWEEP:
                for target in targets:
                    sweeps[target.name].append(run_scenario(bench, target, sc, standin))
            largest = largest_ks(bench, targets, sweeps, run_probe(bench, standin), PROBES)
        if only not in ("stream", "phases") and not QUICK:
            for target in targets:
                run_scenario(bench, target, IDLE, standin)
    finally:
        for helper in helpers:
            stop(helper)
        for target in targets:
            for clean in target.cleanup:
                try:
                    clean()
                except Exception as exc:
                    bench.log(f"clean-up of {target.name} failed: {exc!r}")
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "took_s": round(bench.elapsed(), 1),
        "machine": machine(),
        "versions": versions(),
        "quick": QUICK,
        "tokens": TOKENS,
        "rate": RATE,
        "server_cpus": sorted(bench.server_cpus) or "any",
        "helper_cpus": sorted(bench.helper_cpus) or "any",
        "bare_relay": bare_relay_name(),
    }
    report = markdown(bench, meta, largest)
    (OUT / "bench.md").write_text(report)
    (OUT / "bench.json").write_text(
        json.dumps(
            {
                "meta": meta,
                "results": bench.results,
                "largest_k": largest,
                "errors": bench.failures,
                "overload": bench.overload,
            },
            indent=1,
        )
    )
    print(report)
    if bench.failures:
        print(f"make bench: {len(bench.failures)} run(s) had errors (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
