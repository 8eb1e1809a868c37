"""docker-compose's topology, natively: Debian's nginx, configured by the repo's
nginx/hireez.conf.template, in front of two uvicorn processes of the app that share only
PostgreSQL and Redis (the real run only; see conftest.py). Everything goes through nginx:
REST round-robin with no stickiness, a candidate socket taken over (4009) across processes, a
reply that survives a drop on one process and resumes on the other, an observer on one process
watching the candidate on the other, `kill -9` of the process running a turn, and no token or
ticket in nginx's logs.

Each app process answers with an `X-HireEz-Process` header (uvicorn's `--header`, on HTTP and
on the WebSocket handshake), so a test knows where nginx sent a socket; where a test needs the
other process it opens through nginx again (round-robin moves on)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.core.redis import get_redis
from app.models import Role
from app.services.interview_events import process_key
from tests.conftest import free_port
from tests.support.factories import InterviewSetup, auth, make_interview, make_user, token
from tests.support.ws import WSClient
from tests.support.ws_flow import (
    LONG_ANSWER,
    ai_rows,
    answer,
    assert_same_events,
    candidate_rows,
    chat_path,
    long_reply,
    observe_path,
    of_type,
    one,
    resumed_reply,
    start,
    wait_for,
)

BACKEND = Path(__file__).resolve().parents[1]
TEMPLATE = BACKEND.parent / "nginx" / "hireez.conf.template"
PROCESS_HEADER = "X-HireEz-Process"
WS_LINE = re.compile(r'"GET /api/v1/ws/\S* HTTP/1\.1" 101 ')


def render_template(text: str, values: dict[str, str]) -> str:
    """What the nginx image's envsubst does: `${NAME}` / `$NAME` replaced for the given names
    only, so nginx's own variables ($host, $uri, ...) stay."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    rendered = re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text)
    code = "\n".join(line.split("#", 1)[0] for line in rendered.splitlines())
    left = re.findall(r"\$\{\w+\}", code)
    assert not left, f"template placeholders left unrendered: {left}"
    return rendered


@dataclass
class AppProcess:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Topology:
    root: Path
    port: int
    nginx: subprocess.Popen[bytes]
    apps: dict[str, AppProcess]
    sockets_via_nginx: int = 0
    secrets_sent: list[str] = field(default_factory=list)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def open(self, path: str, credential: str) -> WSClient:
        """A socket through nginx; the token (JWT or ticket) rides in the query string."""
        self.secrets_sent.append(credential)
        ws = await WSClient.open(f"ws://127.0.0.1:{self.port}/api/v1{path}?token={credential}")
        self.sockets_via_nginx += 1
        return ws

    def access_log(self) -> str:
        return (self.root / "logs" / "access.log").read_text(errors="replace")

    def error_log(self) -> str:
        return (self.root / "logs" / "error.log").read_text(errors="replace")


def served_by(ws: WSClient) -> str:
    """The app process that accepted this socket (its handshake response header)."""
    response = ws.conn.response
    assert response is not None
    return str(response.headers[PROCESS_HEADER])


def _spawn_app(name: str, root: Path) -> AppProcess:
    port = free_port()
    log = root / "logs" / f"app-{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--ws",
                "websockets-sansio",
                "--ws-per-message-deflate",
                "false",
                "--header",
                f"{PROCESS_HEADER}:{name}",
            ],
            cwd=BACKEND,
            env={**os.environ, "PYTHONPATH": str(BACKEND)},  # same DB, Redis, AI, secret
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return AppProcess(name, port, proc, log)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 (loopback)
            return int(resp.status)
    except OSError:
        return 0


def _wait_until(ready, proc: subprocess.Popen[bytes], what: str, log: Path, deadline: float):
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:]
            raise AssertionError(f"{what} did not start:\n{tail}")
        time.sleep(0.05)


def _nginx_conf(root: Path, port: int, apps: list[AppProcess], static: Path) -> Path:
    """The repo's template rendered as the image renders it, inside a main config like the
    image's nginx.conf, with every path in the temp prefix."""
    site = render_template(
        TEMPLATE.read_text(),
        {
            "LISTEN_PORT": f"127.0.0.1:{port}",
            "BACKEND_UPSTREAMS": " ".join(f"server 127.0.0.1:{a.port};" for a in apps),
            "FRONTEND_ROOT": str(static),
            "NGINX_LOG_DIR": str(root / "logs"),
        },
    )
    (root / "conf.d").mkdir()
    (root / "conf.d" / "hireez.conf").write_text(site)
    for sub in ("body", "proxy"):
        (root / "tmp" / sub).mkdir(parents=True)
    mime = Path("/etc/nginx/mime.types")
    main = f"""
worker_processes 1;
error_log {root}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    {f"include {mime};" if mime.exists() else ""}
    default_type application/octet-stream;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    include {root}/conf.d/hireez.conf;
}}
"""
    conf = root / "nginx.conf"
    conf.write_text(main)
    return conf


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    nginx_bin = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if nginx_bin is None:
        # `make test` installs it (scripts/system_deps.sh): missing here is a set-up error
        pytest.fail(
            "nginx is not installed (apt-get install -y --no-install-recommends nginx-light)"
        )
    root = Path(tempfile.mkdtemp(prefix="hireez-nginx-"))
    root.chmod(0o755)  # nginx workers run as an unprivileged user when started by root
    (root / "logs").mkdir()
    static = root / "html"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>HireEz</title>hireez-spa\n")
    apps: list[AppProcess] = []
    nginx: subprocess.Popen[bytes] | None = None
    try:
        apps = [_spawn_app("A", root), _spawn_app("B", root)]
        deadline = time.monotonic() + 30
        for app in apps:
            url = f"http://127.0.0.1:{app.port}/api/v1/health"
            _wait_until(
                lambda url=url: _get(url) == 200, app.proc, f"app {app.name}", app.log, deadline
            )
        port = free_port()
        conf = _nginx_conf(root, port, apps, static)
        nginx_log = root / "logs" / "nginx.out"
        with nginx_log.open("wb") as out:
            nginx = subprocess.Popen(
                [
                    nginx_bin,
                    "-p",
                    str(root),
                    "-c",
                    str(conf),
                    "-e",
                    str(root / "logs/error.log"),
                    "-g",
                    f"daemon off; pid {root}/nginx.pid;",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        health = f"http://127.0.0.1:{port}/nginx-health"
        _wait_until(
            lambda: _get(health) == 200,
            nginx,
            "nginx",
            root / "logs/error.log",
            time.monotonic() + 10,
        )
        yield Topology(root, port, nginx, {a.name: a for a in apps})
    finally:
        if nginx is not None:
            _stop(nginx)
        for app in apps:
            _stop(app.proc)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def topo(topology: Topology) -> Topology:
    for app in topology.apps.values():
        assert app.proc.poll() is None, f"app {app.name} died:\n{app.log_tail()}"
    assert topology.nginx.poll() is None, topology.error_log()

    # The harness flushed Redis after the previous test, liveness keys included: until each
    # process has announced itself again, the others would take it for dead.
    async def announced() -> bool:
        keys = [k async for k in get_redis().scan_iter(match=process_key("*"))]
        return len(keys) >= len(topology.apps) + 1  # + this test process's own event hub

    await wait_for(announced, timeout=10, what="the app processes' liveness keys")
    return topology


_served_ids: set[int] = set()


@pytest.fixture
async def setup(db) -> InterviewSetup:
    """A fresh interview whose id the app processes have not met: they outlive the harness's
    per-test TRUNCATE (ids restart at 1), and an id seen in an earlier test would meet their
    stale in-process state for it, which production, never reusing ids, does not see."""
    while True:
        made = await make_interview(db)
        assert made.interview.id is not None
        if made.interview.id not in _served_ids:
            _served_ids.add(made.interview.id)
            return made


async def _elsewhere(topo: Topology, path: str, credential, avoid: str) -> WSClient:
    """A socket through nginx on a process other than `avoid` (round-robin: the first try,
    or the next). A try that lands on `avoid` is closed before it says anything."""
    for _ in range(4):
        ws = await topo.open(path, credential())
        if served_by(ws) != avoid:
            return ws
        await ws.close()
    raise AssertionError(f"nginx kept sending sockets to {avoid}: is it round-robin?")


async def _ticket(topo: Topology, interview_id: int, user) -> str:
    async with httpx.AsyncClient(base_url=topo.http) as http:
        resp = await http.post(
            "/api/v1/auth/ws-ticket", json={"interview_id": interview_id}, headers=auth(user)
        )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["ticket"])


async def _assert_logs_clean(topo: Topology) -> None:
    """Every socket opened through nginx is in its access log (a line is written when the
    socket ends), and no token or ticket is in any nginx log."""

    async def all_logged() -> bool:
        return len(WS_LINE.findall(topo.access_log())) >= topo.sockets_via_nginx

    await wait_for(all_logged, timeout=5, what="nginx access-log lines of the closed sockets")
    for log in (topo.access_log(), topo.error_log()):
        assert "token=" not in log and "ticket=" not in log
        leaked = [s for s in topo.secrets_sent if s in log]
        assert not leaked, "a token or ticket reached nginx's logs"


async def test_nginx_serves_the_frontend_and_round_robins_the_api(topo):
    async with httpx.AsyncClient(base_url=topo.http) as http:
        page = await http.get("/interviews/7")  # a client-side route: the SPA's index.html
        assert page.status_code == 200 and "hireez-spa" in page.text
        served = set()
        for _ in range(4):
            resp = await http.get("/api/v1/health")
            assert resp.status_code == 200
            assert resp.json() == {"status": "ok", "database": "ok", "redis": "ok"}
            served.add(resp.headers[PROCESS_HEADER])
    assert served == {"A", "B"}  # no stickiness: one client meets both processes


async def test_takeover_through_nginx_crosses_processes(topo, setup, db):
    cred = token(setup.candidate_user)
    owner = await topo.open(chat_path(setup), cred)
    await start(owner)
    # each new socket closes the one before (4009) until one lands on the other process
    for _ in range(4):
        newer = await topo.open(chat_path(setup), cred)
        assert await owner.expect_close(timeout=5) == 4009
        crossed = served_by(newer) != served_by(owner)
        owner = newer
        if crossed:
            break
    else:
        raise AssertionError("no takeover across processes: is nginx round-robin?")

    await owner.send({"type": "reconnect", "last_seq": 0})
    snap = (await owner.recv_until("reconnected"))[-1]
    assert [h["role"] for h in snap["conversation_history"]] == ["ai"]
    reply = await answer(owner, LONG_ANSWER, cid="ng-t1")
    assert reply[-1]["type"] == "stream_end" and reply[-1]["question_number"] == 2
    hr = await make_user(db)
    async with httpx.AsyncClient(base_url=topo.http) as http:
        for _ in range(2):  # asked of both processes
            resp = await http.get(f"/api/v1/interviews/{setup.interview.id}", headers=auth(hr))
            assert resp.json()["connected"] is True
    await owner.close()
    await _assert_logs_clean(topo)


async def test_drop_mid_stream_on_one_process_resumes_on_the_other(topo, setup, standin):
    interview_id = setup.interview.id
    user = setup.candidate_user
    first = await topo.open(chat_path(setup), await _ticket(topo, interview_id, user))
    dropped_on = served_by(first)
    await start(first)
    standin.control(token_delay=0.03, replies=[long_reply(60)])  # ~2 s of reply
    await first.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "ng-r1"})
    seen = await first.recv_until("stream_chunk")
    while seen[-1]["chunk_index"] < 5:
        seen += await first.recv_until("stream_chunk")
    stream_id = one(seen, "stream_start")["stream_id"]
    last_seq = max(f["seq"] for f in seen if "seq" in f)
    await first.abort()  # a network drop: the turn goes on

    async def fresh_ticket() -> str:
        return await _ticket(topo, interview_id, user)

    tickets = [await fresh_ticket() for _ in range(4)]
    again = await _elsewhere(topo, chat_path(setup), tickets.pop, avoid=dropped_on)
    await again.send({"type": "reconnect", "last_seq": last_seq})
    snap = (await again.recv_until("reconnected"))[-1]
    final_text = await resumed_reply(again, snap, stream_id, seen)
    assert "word59" in final_text

    cands = [r for r in await candidate_rows(interview_id) if r.client_msg_id == "ng-r1"]
    assert len(cands) == 1
    replies = [r for r in await ai_rows(interview_id) if r.stream_id == stream_id]
    assert len(replies) == 1 and replies[0].reply_to_id == cands[0].id
    assert replies[0].content == final_text
    assert len(await ai_rows(interview_id)) == 2  # greeting + this reply
    await again.close()
    await _assert_logs_clean(topo)


async def test_observer_on_one_process_sees_the_candidate_on_the_other(topo, setup, db):
    hr = await make_user(db)
    observer = await topo.open(observe_path(setup), token(hr))
    assert (await observer.recv())["type"] == "reconnected"
    watched_from = served_by(observer)

    candidate = await _elsewhere(
        topo, chat_path(setup), lambda: token(setup.candidate_user), avoid=watched_from
    )
    cand_frames = await start(candidate)
    cand_frames += await answer(candidate, LONG_ANSWER, cid="ng-o1")
    obs_frames = await observer.recv_until("stream_end")
    obs_frames += await observer.recv_until("stream_end")
    assert_same_events(cand_frames, obs_frames)
    interviewer = await make_user(db, Role.INTERVIEWER)
    async with httpx.AsyncClient(base_url=topo.http) as http:
        resp = await http.get(f"/api/v1/interviews/{setup.interview.id}", headers=auth(interviewer))
    assert resp.json()["connected"] is True
    assert candidate.close_code is None and observer.close_code is None
    await candidate.close()
    await observer.close()
    await _assert_logs_clean(topo)


# Keep this test last in the file: it kills one of the two app processes for good.
async def test_kill_9_of_the_process_running_a_turn(topo, setup, standin):
    """The process streaming a reply dies (SIGKILL: no clean-up at all). The candidate's
    socket drops; it reconnects through nginx, which skips the dead upstream; the other
    process resumes or regenerates the turn, which is saved exactly once."""
    interview_id = setup.interview.id
    cred = token(setup.candidate_user)
    ws = await topo.open(chat_path(setup), cred)
    victim = served_by(ws)
    await start(ws)
    standin.control(token_delay=0.05, replies=[long_reply(60), long_reply(60)])  # ~3 s each
    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "ng-k1"})
    seen = await ws.recv_until("stream_chunk")
    while seen[-1]["chunk_index"] < 5:
        seen += await ws.recv_until("stream_chunk")
    last_seq = max(f["seq"] for f in seen if "seq" in f)

    dead = topo.apps[victim].proc
    dead.send_signal(signal.SIGKILL)
    dead.wait(timeout=5)
    assert await ws.expect_close(timeout=5) in (None, 1006)  # no close frame: a dead server

    again = await topo.open(chat_path(setup), cred)
    assert served_by(again) != victim
    async with httpx.AsyncClient(base_url=topo.http) as http:  # nginx skips the dead upstream
        for _ in range(2):
            resp = await http.get("/api/v1/health")
            assert resp.status_code == 200 and resp.headers[PROCESS_HEADER] != victim
    await again.send({"type": "reconnect", "last_seq": last_seq})
    snap = (await again.recv_until("reconnected"))[-1]
    cands = [r for r in await candidate_rows(interview_id) if r.client_msg_id == "ng-k1"]
    assert len(cands) == 1

    history_reply = [
        h for h in snap["conversation_history"] if h["role"] == "ai" and h["seq"] > cands[0].seq
    ]
    if history_reply:  # done before the reconnect (recovered at once)
        assert len(history_reply) == 1
        final_text, final_stream = history_reply[0]["content"], history_reply[0].get("stream_id")
    else:  # resumed (pending_stream, then the rest) or regenerated (a new stream) live
        pending = snap["pending_stream"]
        frames = await again.recv_until("stream_end", timeout=30)
        end = frames[-1]
        final_text, final_stream = end["content"], end["stream_id"]
        assert end["question_number"] == 2
        chunks = [c for c in of_type(frames, "stream_chunk") if c["stream_id"] == end["stream_id"]]
        if pending is not None and pending["stream_id"] == end["stream_id"]:
            assert pending["content"] + "".join(c["content"] for c in chunks) == end["content"]
        else:  # regenerated: the partial the client holds is withdrawn before the new stream
            start_at = frames.index(one(frames, "stream_start"))
            assert frames[start_at]["stream_id"] == end["stream_id"]
            assert "".join(c["content"] for c in chunks) == end["content"]
            if pending is not None:
                dropped = [
                    f
                    for f in frames[:start_at]
                    if f["type"] == "error" and f.get("stream_id") == pending["stream_id"]
                ]
                assert dropped, "the stale partial reply was never withdrawn"
    assert "word59" in final_text

    async def saved() -> bool:
        return any(r.reply_to_id == cands[0].id for r in await ai_rows(interview_id))

    await wait_for(saved, timeout=5, what="the recovered reply in PostgreSQL")
    replies = [r for r in await ai_rows(interview_id) if r.reply_to_id == cands[0].id]
    assert len(replies) == 1, "the turn was saved more than once"
    assert replies[0].content == final_text
    if final_stream is not None:
        assert replies[0].stream_id == final_stream
    assert len(await ai_rows(interview_id)) == 2  # greeting + this reply
    assert len([r for r in await candidate_rows(interview_id) if r.client_msg_id == "ng-k1"]) == 1

    # the interview goes on from there: the next question, asked once
    nxt = await answer(again, LONG_ANSWER, cid="ng-k2")
    assert nxt[-1]["type"] == "stream_end" and nxt[-1]["question_number"] == 3
    await again.close()
    await _assert_logs_clean(topo)
