"""Two app processes sharing PostgreSQL and Redis (the real run only; see conftest.py):
one candidate socket per interview across processes (4009), observers and `connected` across
processes, a reply that survives its socket and resumes on the other process, and a Redis
flush recovered from PostgreSQL under a new epoch. Nothing is sticky: each socket picks its
process."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.core.redis import get_redis
from app.models import Role
from app.services.interview_events import PROCESS_ALIVE_SEC, PROCESS_ID, process_key
from tests.support.factories import auth, make_interview, make_user, token
from tests.support.ws import WSClient
from tests.support.ws_flow import (
    LONG_ANSWER,
    ai_rows,
    answer,
    assert_same_events,
    candidate_rows,
    chat_path,
    frames_for,
    long_reply,
    observe_path,
    of_type,
    one,
    resumed_reply,
    start,
    transcript,
    wait_for,
)

BACKEND = Path(__file__).resolve().parents[1]


@dataclass
class AppProcess:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, path: str, user) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1{path}?token={token(user)}"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(name: str, logdir: Path, prom_dir: Path | None = None) -> AppProcess:
    port = _free_port()
    log = logdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--ws",
                "websockets-sansio",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=BACKEND,
            env={  # same DB, Redis, AI, secret; one metrics directory as on one host
                **os.environ,
                "PYTHONPATH": str(BACKEND),
                **({"PROMETHEUS_MULTIPROC_DIR": str(prom_dir)} if prom_dir else {}),
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return AppProcess(name, port, proc, log)


def _wait_healthy(app: AppProcess, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(app.http + "/api/v1/health", timeout=1) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except OSError:
            pass
        if app.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"app process {app.name} did not start:\n{app.log_tail()}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def apps() -> Iterator[tuple[AppProcess, AppProcess]]:
    logdir = Path(tempfile.mkdtemp(prefix="hireez-mp-"))
    started: list[AppProcess] = []
    try:
        prom_dir = logdir / "prometheus"
        prom_dir.mkdir()
        started = [_spawn("A", logdir, prom_dir), _spawn("B", logdir, prom_dir)]
        deadline = time.monotonic() + 30
        for app in started:
            _wait_healthy(app, deadline)
        yield started[0], started[1]
    finally:
        for app in started:
            app.proc.terminate()
        for app in started:
            try:
                app.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                app.proc.kill()
                app.proc.wait()


_ids = itertools.count(1)


async def _alive_ids() -> set[str]:
    keys = [str(k) async for k in get_redis().scan_iter(match="process:alive:*")]
    return {k.rsplit(":", 1)[-1] for k in keys} - {PROCESS_ID}


@pytest.fixture(scope="module")
async def app_ids(apps) -> set[str]:
    """The two app processes' ids, as their liveness keys in Redis name them."""
    found: set[str] = set()

    async def both() -> bool:
        found.update(await _alive_ids())
        return len(found) >= 2

    await wait_for(both, timeout=5, what="both app processes' liveness keys")
    assert len(found) == 2, found
    return found


@pytest.fixture(autouse=True)
async def _both_known_alive(apps, app_ids):
    """Each test empties Redis afterwards (conftest), liveness keys included, and the
    processes renew theirs only every 2 s: put them back at once for the running processes,
    as in steady operation. (A flush while a turn runs is its own test below.)"""
    assert all(app.proc.poll() is None for app in apps)
    async with get_redis().pipeline(transaction=False) as pipe:
        for process_id in app_ids:
            pipe.set(process_key(process_id), "1", ex=PROCESS_ALIVE_SEC)
        await pipe.execute()


@pytest.fixture
async def setup(db):
    # The app processes live for the whole module, while each test empties the tables and
    # restarts their ids: give every test's interview an id never used before, as in
    # production (otherwise the processes' memory of an earlier test's interview 1 meets
    # this test's interview 1).
    await db.exec(
        text("SELECT setval(pg_get_serial_sequence('interviews', 'id'), :n)"),
        params={"n": next(_ids) * 1000},
    )
    await db.commit()
    return await make_interview(db)


async def _connected(app: AppProcess, interview_id: int, viewer) -> bool:
    async with httpx.AsyncClient(base_url=app.http) as http:
        resp = await http.get(f"/api/v1/interviews/{interview_id}", headers=auth(viewer))
    assert resp.status_code == 200, resp.text
    return bool(resp.json()["connected"])


async def test_one_candidate_socket_across_processes(apps, setup, db):
    a, b = apps
    interview_id = setup.interview.id
    hr = await make_user(db)
    on_a = await WSClient.open(a.ws(chat_path(setup), setup.candidate_user))
    await start(on_a)
    assert await _connected(a, interview_id, hr) and await _connected(b, interview_id, hr)

    on_b = await WSClient.open(b.ws(chat_path(setup), setup.candidate_user))
    assert await on_a.expect_close(timeout=5) == 4009
    await on_b.send({"type": "reconnect", "last_seq": 0})
    snap = (await on_b.recv_until("reconnected"))[-1]
    assert [h["role"] for h in snap["conversation_history"]] == ["ai"]
    reply = await answer(on_b, LONG_ANSWER, cid="mp-1")
    assert reply[-1]["type"] == "stream_end"
    # A's clean-up of the replaced socket did not drop B's ownership
    assert await _connected(a, interview_id, hr)

    await on_b.close()

    async def gone() -> bool:
        return not await _connected(a, interview_id, hr)

    await wait_for(gone, timeout=5, what="connected false on A after B's socket closed")


async def test_observer_on_a_sees_the_candidate_on_b_with_the_same_seq(apps, setup, db):
    a, b = apps
    interview_id = setup.interview.id
    hr = await make_user(db)
    interviewer = await make_user(db, Role.INTERVIEWER)
    observer = await WSClient.open(a.ws(observe_path(setup), hr))
    assert (await observer.recv())["type"] == "reconnected"

    candidate = await WSClient.open(b.ws(chat_path(setup), setup.candidate_user))
    cand_frames = await start(candidate)
    assert await _connected(a, interview_id, interviewer)  # candidate on B, asked on A
    cand_frames += await answer(candidate, LONG_ANSWER, cid="mp-o1")
    obs_frames = await observer.recv_until("stream_end")
    obs_frames += await observer.recv_until("stream_end")
    assert_same_events(cand_frames, obs_frames)
    assert (
        one(of_type(obs_frames, "thinking"), "thinking")["seq"]
        == one(cand_frames, "thinking")["seq"]
    )
    assert candidate.close_code is None
    await candidate.close()
    await observer.close()


async def test_reply_survives_a_drop_on_a_and_resumes_on_b(apps, setup, standin):
    a, b = apps
    interview_id = setup.interview.id
    on_a = await WSClient.open(a.ws(chat_path(setup), setup.candidate_user))
    await start(on_a)
    standin.control(token_delay=0.03, replies=[long_reply(60)])  # ~2 s of reply

    await on_a.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "mp-r1"})
    seen = await on_a.recv_until("stream_chunk")
    while seen[-1]["chunk_index"] < 5:
        seen += await on_a.recv_until("stream_chunk")
    stream_id = one(seen, "stream_start")["stream_id"]
    last_seq = max(f["seq"] for f in seen if "seq" in f)
    await on_a.abort()  # a network drop: the turn goes on, on A

    on_b = await WSClient.open(b.ws(chat_path(setup), setup.candidate_user))
    await on_b.send({"type": "reconnect", "last_seq": last_seq})
    snap = (await on_b.recv_until("reconnected"))[-1]
    final_text = await resumed_reply(on_b, snap, stream_id, seen)
    assert "word59" in final_text

    # saved exactly once, answering the one saved message
    cands = [r for r in await candidate_rows(interview_id) if r.client_msg_id == "mp-r1"]
    assert len(cands) == 1
    replies = [r for r in await ai_rows(interview_id) if r.stream_id == stream_id]
    assert len(replies) == 1 and replies[0].reply_to_id == cands[0].id
    assert replies[0].content == final_text
    assert len(await ai_rows(interview_id)) == 2  # greeting + this reply
    await on_b.send({"type": "ping"})
    await on_b.recv_until("pong")
    await on_b.close()


async def test_redis_flush_is_recovered_from_postgresql_under_a_new_epoch(apps, setup):
    a, b = apps
    interview_id = setup.interview.id
    on_a = await WSClient.open(a.ws(chat_path(setup), setup.candidate_user))
    await start(on_a)
    await answer(on_a, LONG_ANSWER, cid="mp-f1")
    await on_a.send({"type": "reconnect", "last_seq": 0})
    before = (await on_a.recv_until("reconnected"))[-1]
    await on_a.close()

    redis = get_redis()
    async with redis.pipeline(transaction=True) as pipe:  # keep this run's claim on its DB
        pipe.flushdb()
        pipe.set("hireez:test:claim", "1", ex=3600)
        await pipe.execute()

    on_b = await WSClient.open(b.ws(chat_path(setup), setup.candidate_user))
    await on_b.send({"type": "reconnect", "last_seq": before["last_seq"]})
    after = (await on_b.recv_until("reconnected"))[-1]
    assert after["epoch"] != before["epoch"]

    def shape(history: list[dict]) -> list[tuple]:
        return [(h["id"], h["seq"], h["role"], h["content"]) for h in history]

    assert shape(after["conversation_history"]) == shape(before["conversation_history"])
    assert [(r.id, r.seq) for r in await transcript(interview_id)] == [
        (h["id"], h["seq"]) for h in after["conversation_history"]
    ]
    for field in ("status", "current_question", "question_number", "total_questions"):
        assert after[field] == before[field], field
    assert after["pending_stream"] is None

    # the interview goes on, with seq above everything saved before the flush
    reply = await answer(on_b, LONG_ANSWER, cid="mp-f2")
    top = max(h["seq"] for h in before["conversation_history"])
    assert reply[0]["type"] == "thinking" and reply[0]["seq"] > top
    assert reply[-1]["type"] == "stream_end"
    assert reply[-1]["question_number"] == before["question_number"] + 1
    await on_b.close()


async def _flush_redis() -> None:
    async with get_redis().pipeline(transaction=True) as pipe:  # keep this run's claim
        pipe.flushdb()
        pipe.set("hireez:test:claim", "1", ex=3600)
        await pipe.execute()


async def test_redis_flush_while_a_reply_streams_saves_that_reply_once(apps, setup, standin):
    """Redis lost everything (flush, restart without persistence) while A generates; the
    candidate comes back on B. A is alive and finishes its reply; whatever B does, the
    candidate's answer gets exactly one saved reply and the client's screen agrees."""
    a, b = apps
    interview_id = setup.interview.id
    on_a = await WSClient.open(a.ws(chat_path(setup), setup.candidate_user))
    await start(on_a)
    standin.control(token_delay=0.03, replies=[long_reply(60)])
    await on_a.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "mp-x1"})
    seen = await on_a.recv_until("stream_chunk")
    while seen[-1]["chunk_index"] < 5:
        seen += await on_a.recv_until("stream_chunk")
    await on_a.abort()
    await _flush_redis()

    on_b = await WSClient.open(b.ws(chat_path(setup), setup.candidate_user))
    await on_b.send({"type": "reconnect", "last_seq": 0})
    frames = await on_b.recv_until("reconnected")
    # follow B until the interview is quiet, then compare with what was saved
    frames += await frames_for(on_b, 3.0)
    await on_b.send({"type": "reconnect", "last_seq": 0})
    final = (await on_b.recv_until("reconnected"))[-1]
    await on_b.close()

    cands = [r for r in await candidate_rows(interview_id) if r.client_msg_id == "mp-x1"]
    assert len(cands) == 1
    replies = [r for r in await ai_rows(interview_id) if r.reply_to_id == cands[0].id]
    assert len(replies) == 1, [(r.stream_id, r.content[:30]) for r in replies]
    ai_history = [h for h in final["conversation_history"] if h["role"] == "ai"]
    assert [h["stream_id"] for h in ai_history][-1] == replies[0].stream_id
    assert final["pending_stream"] is None


async def test_metrics_add_up_across_processes(apps, setup, db):
    """With PROMETHEUS_MULTIPROC_DIR, either process's /metrics counts every process's sockets."""
    a, b = apps
    hr = await make_user(db, Role.HR_MANAGER)

    def gauge(kind: str) -> float:
        body = httpx.get(a.http + "/metrics").text
        for line in body.splitlines():
            if line.startswith(f'hireez_ws_connections{{kind="{kind}"}}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    base_candidate, base_observer = gauge("candidate"), gauge("observer")
    candidate = await WSClient.open(b.ws(chat_path(setup), setup.candidate_user))
    observer = await WSClient.open(a.ws(observe_path(setup), hr))
    await observer.recv_until("reconnected")
    await candidate.send({"type": "ping"})
    await candidate.recv_until("pong")
    assert gauge("candidate") == base_candidate + 1  # the socket lives on B, A reports it
    assert gauge("observer") == base_observer + 1
    await candidate.close()
    await observer.close()
