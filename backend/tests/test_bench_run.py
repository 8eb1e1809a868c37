"""bench/run.py (`make bench`): the search for the largest K under 50 ms (the probes go in rounds
across the targets, and the time budget stops a whole round, never one target's probes alone),
and an independent bare relay in place of bench/bare_relay.py (BENCH_BARE_CMD)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from websockets.asyncio.client import connect

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench_module(name: str, *, register: bool = False) -> ModuleType:
    """bench/<name>.py as the module `bench_<name>` (a script, not a package's); `register`:
    in `sys.modules` too, for as long as the caller keeps it there."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run() -> Iterator[ModuleType]:
    """bench/run.py as a module (it is a script, not a package's)."""
    had_phases = "phases" in sys.modules
    sys.path.insert(0, str(BENCH))  # run.py imports its neighbour `phases`
    try:
        yield _bench_module("run", register=True)  # its dataclasses look their module up
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop("bench_run", None)
        if not had_phases:
            sys.modules.pop("phases", None)


class Clock:
    """What `largest_ks` reads of the bench: its clock (moved by the probes) and its notes."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.notes: list[str] = []

    def elapsed(self) -> float:
        return self.now


def result(run: ModuleType, k: int, p99_ms: float) -> dict[str, Any]:
    """A stream run's result as `passes` reads it (every offered token delivered)."""
    return {"k": k, "chunk_latency_ms": {"p99": p99_ms}, "tokens_per_s": k * run.RATE}


def sweep(run: ModuleType, fails_from: int) -> list[dict[str, Any]]:
    return [result(run, k, 20.0 if k < fails_from else 90.0) for k in (100, 250, 500, 1000)]


def prober(run: ModuleType, clock: Clock, capacity: dict[str, int], probe_s: float = 15.0):
    """A probe of `target` at K passes below the target's capacity; it takes `probe_s`."""
    calls: list[tuple[str, int]] = []

    def probe(target: Any, k: int) -> dict[str, Any]:
        calls.append((target.name, k))
        clock.now += probe_s
        return result(run, k, 20.0 if k < capacity[target.name] else 90.0)

    return probe, calls


def targets(run: ModuleType) -> list[Any]:
    return [run.Target(name) for name in ("bare", "embedded", "real")]


def search(
    run: ModuleType, now: float, capacity: dict[str, int]
) -> tuple[dict[str, str], list[tuple[str, int]], list[str]]:
    """Two rounds from `now` s into the run, after sweeps that all passed K = 100 and failed
    250: the verdicts, the probes made (target, K) in order, and the bench's notes."""
    clock = Clock(now)
    probe, calls = prober(run, clock, capacity)
    sweeps = {t.name: sweep(run, fails_from=250) for t in targets(run)}
    largest = run.largest_ks(clock, targets(run), sweeps, probe, rounds=2)
    return largest, calls, clock.notes


def test_the_probes_go_in_rounds_each_target_right_after_the_others(run: ModuleType) -> None:
    largest, calls, notes = search(run, 240.0, {"bare": 150, "embedded": 200, "real": 130})

    # round one: everyone at 180 (between 100 and 250); round two: each at its own next K
    assert calls == [
        ("bare", 180),
        ("embedded", 180),
        ("real", 180),
        ("bare", 140),
        ("embedded", 220),
        ("real", 140),
    ]
    assert largest == {
        "bare": "140 (fails at 180)",
        "embedded": "180 (fails at 220)",
        "real": "100 (fails at 140)",
    }
    assert notes == []


def test_the_time_budget_stops_a_whole_round_not_the_last_targets_probes(
    run: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "TIME_BUDGET_S", 300.0)
    # the first round (3 x 15 s from 240 s) ends by 300 s; a second would end at 330 s
    largest, calls, notes = search(run, 240.0, dict.fromkeys(("bare", "embedded", "real"), 150))

    assert calls == [("bare", 180), ("embedded", 180), ("real", 180)]
    assert set(largest.values()) == {"100 (fails at 180)"}  # the same probes for all three
    assert notes == [
        "probes for the largest K stopped by the time budget: bare, embedded, real had more to try"
    ]


def test_before_any_probe_ran_a_round_is_paced_by_the_default_probe_time(
    run: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "TIME_BUDGET_S", 300.0)
    # 3 probes at PROBE_S (16 s) from 260 s end past 300 s: no round, for anyone
    largest, calls, notes = search(run, 260.0, dict.fromkeys(("bare", "embedded", "real"), 150))

    assert calls == []
    assert set(largest.values()) == {"100 (fails at 250)"}
    assert len(notes) == 1


def test_a_target_with_nothing_left_to_try_sits_out_the_round(run: ModuleType) -> None:
    clock = Clock(now=0.0)
    probe, calls = prober(run, clock, {"bare": 150, "embedded": 2000, "real": 50})
    sweeps = {
        "bare": sweep(run, fails_from=250),
        "embedded": sweep(run, fails_from=5000),  # passed every K of the sweep
        "real": sweep(run, fails_from=100),  # failed at the smallest
    }

    largest = run.largest_ks(clock, targets(run), sweeps, probe, rounds=2)

    # embedded has no K to try in either round; real looks below the sweep's smallest K
    assert calls == [("bare", 180), ("real", 50), ("bare", 140), ("real", 20)]
    assert largest == {
        "bare": "140 (fails at 180)",
        "embedded": ">= 1000",
        "real": "20 (fails at 50)",
    }


def test_a_sweep_that_passes_nothing_or_everything_reads_as_a_bound(run: ModuleType) -> None:
    assert run.ProbeSearch.from_sweep(sweep(run, fails_from=0)).verdict() == "< 100"
    assert run.ProbeSearch.from_sweep(sweep(run, fails_from=5000)).verdict() == ">= 1000"
    search = run.ProbeSearch.from_sweep(sweep(run, fails_from=500))
    assert (search.lo, search.hi, search.next_k()) == (250, 500, 380)
    # too few tokens delivered fails a K whatever its latency (a server that stalls its turns)
    stalled = result(run, 100, 10.0)
    stalled["tokens_per_s"] = 100 * run.RATE * 0.5
    assert not run.passes(stalled)


def test_an_independent_relays_command_gets_its_port_and_the_models_url(run: ModuleType) -> None:
    command = run.bare_command(
        "relay --listen 127.0.0.1:{port} --model '{model_url}' --json '{{}}'",
        8123,
        "http://127.0.0.1:8001/v1",
    )
    assert command == [
        "relay",
        "--listen",
        "127.0.0.1:8123",
        "--model",
        "http://127.0.0.1:8001/v1",
        "--json",
        "{}",
    ]


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("relay --model {model_url}", "must contain {port}"),
        ("relay --port {port} --host {host}", "only {port} and {model_url} are filled in"),
        ("relay --port {port} --json {", "only {port} and {model_url} are filled in"),
        ("relay --port {port} --name 'unclosed", "No closing quotation"),
    ],
)
def test_a_relay_command_that_cannot_start_a_relay_says_why(
    run: ModuleType, template: str, says: str
) -> None:
    with pytest.raises(ValueError, match="BENCH_BARE_CMD") as raised:
        run.bare_command(template, 8123, "http://127.0.0.1:8001/v1")
    assert says in str(raised.value)


def test_make_bench_refuses_a_bad_relay_command_before_it_starts_anything(tmp_path: Path) -> None:
    out = tmp_path / "results"
    env = {
        **os.environ,
        "BENCH_BARE_CMD": "relay --model {model_url}",
        "BENCH_OUT": str(out),
        # were the command let through: the smallest run there is (no HireEz set-up)
        "BENCH_QUICK": "1",
        "BENCH_MODES": "",
    }
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "run.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # what it started goes with it, should it start anything
    )
    try:
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 2
    assert "BENCH_BARE_CMD must contain {port}" in stderr
    assert not out.exists()  # nothing ran: no stand-in, no server, no results


async def test_the_bare_target_runs_the_relay_command_and_the_run_reports_it(
    run: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bench/bare_relay.py, started through the command as an independent relay would be; the
    # shell leaves its pid (the relay's, after exec) where the test can see which ran
    started = tmp_path / "started"
    relay = f"{sys.executable} -m uvicorn bare_relay:app --app-dir {BENCH} --port {{port}}"
    template = f"sh -c 'echo $$ > {started}; exec {relay}'"
    monkeypatch.setattr(run, "BARE_CMD", template)
    bench = run.Bench()
    server = run.start_server(bench, run.Target("bare"), "http://127.0.0.1:9", tmp_path / "log")
    try:
        assert int(started.read_text()) == server.proc.pid
        async with connect(server.url.replace("http://", "ws://") + "/ws") as socket:
            await socket.send(json.dumps({"type": "ping"}))
            assert json.loads(await socket.recv()) == {"type": "pong"}
    finally:
        run.stop(server.proc)
    assert run.bare_relay_name() == f"BENCH_BARE_CMD `{template}`"


RELAYS = {
    # bench/ws_relay.py (the websockets library's server, aiohttp for the model), as a
    # side-by-side run starts it: through BENCH_BARE_CMD
    "ws_relay": (
        f"{sys.executable} {BENCH / 'ws_relay.py'} --port {{port}} --model-url {{model_url}}",
        None,
    ),
    # bench/bare_relay.py with each way of reading the model
    "bare_relay aiohttp": ("", None),  # the default
    "bare_relay httpx": ("", "httpx"),
    "bare_relay openai": ("", "openai"),
}


@pytest.mark.parametrize("relay", list(RELAYS))
async def test_a_bare_relay_streams_the_models_reply_token_by_token(
    run: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standin: Any, relay: str
) -> None:
    template, client = RELAYS[relay]
    monkeypatch.setattr(run, "BARE_CMD", template)
    if client is None:
        monkeypatch.delenv("BARE_CLIENT", raising=False)
    else:
        monkeypatch.setenv("BARE_CLIENT", client)
    root = standin.base_url.removesuffix("/v1")
    server = run.start_server(run.Bench(), run.Target("bare"), root, tmp_path / "log")
    try:
        async with connect(server.url.replace("http://", "ws://") + "/ws") as socket:

            async def turn(kind: str) -> list[dict[str, Any]]:
                await socket.send(json.dumps({"type": kind, "content": "Hello"}))
                got = []
                while not got or got[-1]["type"] != "stream_end":
                    got.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
                return got

            greeting = await turn("start")
            answer = await turn("message")
            await socket.send(json.dumps({"type": "ping"}))
            assert json.loads(await socket.recv()) == {"type": "pong"}
    finally:
        run.stop(server.proc)
    assert [f["type"] for f in answer[:2]] == ["thinking", "stream_start"]
    assert greeting[0]["type"] == "stream_start"
    for stream in (greeting, answer):
        chunks = [f for f in stream if f["type"] == "stream_chunk"]
        assert len(chunks) > 1  # a frame per token, as the model sent them
        assert [c["chunk_index"] for c in chunks] == list(range(len(chunks)))
        assert stream[-1]["content"] == "".join(c["content"] for c in chunks)
    seqs = [f["seq"] for f in greeting + answer]
    assert seqs == sorted(set(seqs))  # strictly increasing over both turns
    assert len(standin.requests()) == 2  # one streamed completion a turn


def test_the_bare_relay_refuses_a_model_client_it_does_not_have() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import bare_relay"],
        cwd=BENCH,
        env={**os.environ, "BARE_CLIENT": "curl"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "BARE_CLIENT='curl': one of aiohttp, httpx, openai" in done.stderr


def test_the_price_of_a_token_is_each_parts_samples_over_the_tokens_delivered() -> None:
    """bench/price.py: py-spy's raw samples by the file of their top frame (a part's own
    time), a sample 1 / 250 s, over the tokens delivered while they were taken."""
    price = _bench_module("price")
    loop = "Runner.run (asyncio/runners.py:118)"
    raw = [
        f"main (uvicorn/main.py:4);{loop} 50",
        f"main (uvicorn/main.py:4);{loop};send (uvicorn/protocols/websockets/x.py:514) 25",
        f"{loop};publish (app/services/interview_events.py:288) 10",
        f"{loop};_insert (app/services/turn_saves.py:99) 5",
        f"{loop};execute (sqlalchemy/orm/session.py:1) 5",
        f"{loop};to_redis (app/services/interview_session.py:113) 5",
        "Thread._bootstrap (threading.py:1002);fsync (app/core/sqlite_inline.py:300) 5",
        f"{loop};mystery (somewhere.py:1) 1",
        "not a sample line",
    ]
    table = price.price(raw, tokens=400.0)  # a sample: 4 ms over 400 tokens = 10 µs a token
    assert table["total"] == pytest.approx(1060.0)
    no_frame = "no Python frame on top: the loop, task steps, frames set up and freed"
    assert table[no_frame] == pytest.approx(500.0)
    assert table["socket frames (uvicorn, websockets, Starlette)"] == pytest.approx(250.0)
    assert table["turn, event log, writer, read gate (app)"] == pytest.approx(100.0)
    assert table["saves (SQLite on the loop, asyncpg, SQLAlchemy)"] == pytest.approx(100.0)
    assert table["the cached session (app/services/interview_session.py)"] == pytest.approx(50.0)
    assert table["SQLite's worker thread (fsync, checkpoints)"] == pytest.approx(50.0)
    assert table["other"] == pytest.approx(10.0)
    assert sum(v for k, v in table.items() if k != "total") == pytest.approx(table["total"])
    with pytest.raises(ValueError, match="no tokens delivered"):
        price.price(raw, tokens=0)


def test_the_calls_of_a_token_are_the_long_replys_less_the_short_ones(run: ModuleType) -> None:
    """bench/calls.py: each function's calls in the long reply's turns less the short one's,
    over the extra tokens; "total" first, then most calls first."""
    calls = _bench_module("calls")
    long = {"app/x.py:1(publish)": 1030, "aiohttp/streams.py:9(readany)": 2040, "turn": 50}
    short = {"app/x.py:1(publish)": 30, "aiohttp/streams.py:9(readany)": 40, "turn": 50}
    rows = calls.per_token(long, short, extra_tokens=1000)
    assert rows[0] == (pytest.approx(3.0), "total")
    assert rows[1:] == [
        (pytest.approx(2.0), "aiohttp/streams.py:9(readany)"),
        (pytest.approx(1.0), "app/x.py:1(publish)"),
        (0.0, "turn"),
    ]
    with pytest.raises(ValueError, match="more tokens"):
        calls.per_token(long, short, extra_tokens=0)
