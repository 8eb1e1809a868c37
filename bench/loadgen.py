"""The load generator: K candidates over the real interview protocol, one asyncio process.

Against HireEz each candidate does what the interview room does: `POST /auth/login`,
`POST /auth/ws-ticket` with the access token, opens `/api/v1/ws/interview/{id}?token=<ticket>`,
sends `start`, reads the greeting stream, then answers (`message` with a `client_msg_id`)
after its think time, again and again until the run ends. Against the bare relay it opens
`/ws` and does the same minus login and ticket. Every socket also sends an application
`ping` every `--ping-every` seconds and answers the server's `ping` with `pong`.

The stand-in stamps each token with the monotonic clock (microseconds) when it wrote it, so
the latency of a token is its receipt time here minus its stamp: model → server → client,
merged frames included (each token in a merged frame counts with its own stamp).

Errors, the only thing a quick run fails on: an `error` frame, a connection that fails or
closes unexpectedly, `seq` or `chunk_index` not strictly increasing, a `stream_end` whose
text is not exactly the chunks received (lost or duplicated piece), a reply without every
token of the model, a turn that never begins.

    python bench/loadgen.py --target hireez --url http://127.0.0.1:8000 --k 100 \\
        --creds creds.json --out result.json

Bounded: 127.0.0.1 only, `--k` sockets at most, and the run stops by itself after
warm-up + ramp + `--warmup` + `--measure` seconds (plus a few seconds of grace).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection, connect

ANSWER = "I designed our payments service end to end in Python, PostgreSQL and Redis queues."
WARM_SOCKETS = 5
GRACE_SEC = 20.0


def now_us() -> int:
    return time.monotonic_ns() // 1000


def percentiles(values: list[int], scale: float = 1000.0) -> dict[str, float | int | None]:
    """p50/p95/p99/max in ms (values in µs) and the count."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    data = sorted(values)
    n = len(data)

    def at(q: float) -> float:
        return round(data[min(n - 1, int(q * n))] / scale, 2)

    return {"n": n, "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


@dataclass
class Stats:
    chunk_lat: list[int] = field(default_factory=list)
    thinking: list[int] = field(default_factory=list)
    first_chunk: list[int] = field(default_factory=list)
    pong: list[int] = field(default_factory=list)
    pong_streaming: list[int] = field(default_factory=list)
    frames: int = 0
    chunk_frames: int = 0
    tokens: int = 0
    replies: int = 0
    connected: int = 0
    greeted: int = 0
    streaming: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def error(self, kind: str, detail: str = "") -> None:
        self.errors[kind] += 1
        if len(self.samples) < 20:
            self.samples.append(f"{kind}: {detail}"[:300])


@dataclass
class Run:
    args: argparse.Namespace
    stats: Stats
    window_start: float = 0.0  # monotonic seconds
    window_end: float = 0.0
    stopping: bool = False
    sockets: set[ClientConnection] = field(default_factory=set)
    greeted_warm: asyncio.Event = field(default_factory=asyncio.Event)
    warm_greeted: int = 0
    attempted: int = 0  # connections that succeeded or failed
    all_greeted: asyncio.Event = field(default_factory=asyncio.Event)
    all_attempted: asyncio.Event = field(default_factory=asyncio.Event)
    # think-time runs: first answers wait until the idle memory is measured
    first_answers: asyncio.Event = field(default_factory=asyncio.Event)

    def attempt_done(self) -> None:
        self.attempted += 1
        if self.attempted >= self.args.k:
            self.all_attempted.set()

    def in_window(self, t_us: int) -> bool:
        return self.window_start * 1e6 <= t_us < self.window_end * 1e6


class Candidate:
    def __init__(self, run: Run, index: int, cred: dict[str, Any] | None, warm: bool) -> None:
        self.run, self.index, self.cred, self.warm = run, index, cred, warm
        self.ws: ClientConnection | None = None
        self.last_seq = 0
        self.stream_id: str | None = None
        self.pieces: list[str] = []
        self.last_index = -1
        self.sent_at: int | None = None  # when the last `message` went out (µs)
        self.got_thinking = False
        self.got_first_chunk = False
        self.ping_at: int | None = None
        self.ping_streaming = False
        self.turns = 0
        self.greeted = False
        self.in_stream = False

    async def url(self, http: httpx.AsyncClient) -> str:
        args = self.run.args
        base = "ws://" + urlsplit(args.url).netloc
        if args.target == "bare":
            return base + "/ws"
        assert self.cred is not None
        resp = await http.post(
            args.url + "/api/v1/auth/login",
            json={"email": self.cred["email"], "password": self.cred["password"]},
        )
        if resp.status_code != 200:
            raise RuntimeError(f"login HTTP {resp.status_code}: {resp.text[:100]}")
        token = resp.json()["access_token"]
        resp = await http.post(
            args.url + "/api/v1/auth/ws-ticket",
            json={"interview_id": self.cred["interview_id"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        if resp.status_code != 200:
            raise RuntimeError(f"ws-ticket HTTP {resp.status_code}: {resp.text[:100]}")
        ticket = resp.json()["ticket"]
        return f"{base}/api/v1/ws/interview/{self.cred['interview_id']}?token={ticket}"

    async def play(self, http: httpx.AsyncClient, start_at: float) -> None:
        run, stats = self.run, self.run.stats
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        if run.stopping:
            return
        try:
            url = await self.url(http)
            ws = await connect(
                url,
                compression=None,
                open_timeout=30,
                ping_interval=None,
                close_timeout=2,
                max_size=2**22,
            )
        except Exception as exc:
            stats.error("connect_failed", f"#{self.index}: {exc!r}")
            run.attempt_done()
            return
        self.ws = ws
        run.sockets.add(ws)
        stats.connected += 1
        run.attempt_done()
        pinger = asyncio.create_task(self.ping_loop())
        try:
            await ws.send('{"type":"start"}')
            self.sent_at = None
            async for raw in ws:
                t = now_us()
                self.on_frame(orjson.loads(raw), t)
        except websockets.ConnectionClosed as exc:
            if not run.stopping:
                stats.error("closed", f"#{self.index}: code {exc.rcvd.code if exc.rcvd else None}")
        except Exception as exc:
            if not run.stopping:
                stats.error("client_failed", f"#{self.index}: {exc!r}")
        else:
            if not run.stopping:
                stats.error("closed", f"#{self.index}: code {ws.close_code}")
        finally:
            pinger.cancel()
            if self.in_stream:
                stats.streaming -= 1
            run.sockets.discard(ws)

    async def ping_loop(self) -> None:
        every = self.run.args.ping_every
        if every <= 0:
            return
        await asyncio.sleep(random.uniform(0, every))
        while not self.run.stopping and self.ws is not None:
            if self.ping_at is None:
                self.ping_at = now_us()
                self.ping_streaming = self.in_stream
                with contextlib.suppress(websockets.ConnectionClosed):
                    await self.ws.send('{"type":"ping"}')
            await asyncio.sleep(every)

    async def send_quietly(self, text: str) -> None:
        if self.ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.ws.send(text)

    async def first_answer(self) -> None:
        """After the greeting of a think-time run: wait for the idle checkpoint, then answer at
        a random point of one think time (so the run starts in its steady state)."""
        await self.run.first_answers.wait()
        await self.answer_later(random.uniform(0, self.run.args.think))

    async def answer_later(self, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        if self.run.stopping or self.ws is None:
            return
        self.turns += 1
        cid = f"b{self.index}-{self.turns}"
        frame = {"type": "message", "content": ANSWER, "client_msg_id": cid}
        self.sent_at = now_us()
        self.got_thinking = self.got_first_chunk = False
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(orjson.dumps(frame).decode())

    def on_frame(self, msg: dict[str, Any], t: int) -> None:
        run, stats = self.run, self.run.stats
        stats.frames += 1
        kind = msg.get("type")
        seq = msg.get("seq")
        if seq is not None:
            if seq <= self.last_seq:
                stats.error("seq_order", f"#{self.index}: {seq} after {self.last_seq}")
            self.last_seq = seq
        if kind == "stream_chunk":
            stats.chunk_frames += 1
            if msg["stream_id"] != self.stream_id:
                stats.error("chunk_stream", f"#{self.index}: chunk of an unknown stream")
                return
            if msg["chunk_index"] <= self.last_index:
                stats.error("chunk_order", f"#{self.index}: {msg['chunk_index']}")
            self.last_index = msg["chunk_index"]
            content = msg["content"]
            self.pieces.append(content)
            in_window = run.in_window(t)
            for word in content.split():
                if word[0] == "T":
                    stats.tokens += 1
                    if in_window:
                        stats.chunk_lat.append(t - int(word[1:].rstrip("?")))
            if self.sent_at is not None and not self.got_first_chunk:
                self.got_first_chunk = True
                if in_window:
                    stats.first_chunk.append(t - self.sent_at)
        elif kind == "stream_start":
            if self.sent_at is not None and not self.got_thinking:
                stats.error("no_thinking", f"#{self.index}: stream_start before thinking")
            self.stream_id, self.pieces, self.last_index = msg["stream_id"], [], -1
            if not self.in_stream:
                self.in_stream = True
                stats.streaming += 1
        elif kind == "stream_end":
            if msg["stream_id"] != self.stream_id:
                stats.error("end_stream", f"#{self.index}: end of an unknown stream")
            text = msg["content"]
            if text != "".join(self.pieces):
                stats.error("lost_or_duplicated", f"#{self.index}: {len(self.pieces)} pieces")
            words = text.split()
            if len(words) != run.args.tokens or not words[-1].endswith("?"):
                stats.error("reply_tokens", f"#{self.index}: {len(words)} tokens")
            stats.replies += 1
            self.stream_id = None
            if self.in_stream:
                self.in_stream = False
                stats.streaming -= 1
            if not self.greeted:
                self.greeted = True
                stats.greeted += 1
                if self.warm:
                    run.warm_greeted += 1
                    if run.warm_greeted >= min(WARM_SOCKETS, run.args.k):
                        run.greeted_warm.set()
                if stats.greeted >= run.args.k:
                    run.all_greeted.set()
                if run.args.think > 0:
                    asyncio.get_running_loop().create_task(self.first_answer())
                    return
            think = run.args.think
            delay = random.uniform(0.75 * think, 1.25 * think) if think > 0 else 0.0
            asyncio.get_running_loop().create_task(self.answer_later(delay))
        elif kind == "thinking":
            if self.sent_at is not None and not self.got_thinking:
                self.got_thinking = True
                if run.in_window(t):
                    stats.thinking.append(t - self.sent_at)
        elif kind == "pong":
            if self.ping_at is not None:
                if run.in_window(t):
                    stats.pong.append(t - self.ping_at)
                    if self.ping_streaming:
                        stats.pong_streaming.append(t - self.ping_at)
                self.ping_at = None
        elif kind == "ping":
            asyncio.get_running_loop().create_task(self.send_quietly('{"type":"pong"}'))
        elif kind == "error":
            stats.error(f"error_{msg.get('code')}", f"#{self.index}: {msg.get('content')}")
        else:
            stats.error("unexpected_frame", f"#{self.index}: {kind}")


class ProcessWatch:
    """CPU and RSS of another process (the server under test), read from /proc via psutil."""

    def __init__(self, pid: int | None) -> None:
        self.proc: Any = None
        if pid:
            import psutil

            self.proc = psutil.Process(pid)
        self.rss_max = 0
        self.cpu_at_start = 0.0

    def rss(self) -> int:
        return int(self.proc.memory_info().rss) if self.proc else 0

    def cpu(self) -> float:
        return self.cpu_split()[0]

    def cpu_split(self) -> tuple[float, float]:
        """CPU seconds so far, and the kernel's part of them: system calls (socket reads and
        writes, the wake-ups of the processes they reach)."""
        if not self.proc:
            return 0.0, 0.0
        times = self.proc.cpu_times()
        return float(times.user + times.system), float(times.system)

    async def sample(self, run: Run) -> None:
        while not run.stopping and self.proc is not None:
            if time.monotonic() >= run.window_start:
                self.rss_max = max(self.rss_max, self.rss())
            await asyncio.sleep(0.5)


def machine_busy() -> float:
    """CPU seconds all CPUs of the machine spent busy so far (/proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def standin_stats(http: httpx.AsyncClient, url: str | None) -> dict[str, Any]:
    if not url:
        return {}
    with contextlib.suppress(Exception):
        resp = await http.get(url.rstrip("/").removesuffix("/v1") + "/_stats", timeout=5)
        data: dict[str, Any] = resp.json()
        return data
    return {}


async def run_load(args: argparse.Namespace) -> dict[str, Any]:
    creds: list[dict[str, Any]] = []
    if args.target == "hireez":
        with open(args.creds) as fh:
            creds = json.load(fh)[args.offset : args.offset + args.k]
        if len(creds) < args.k:
            raise SystemExit(f"only {len(creds)} credentials for --k {args.k}")
    run = Run(args=args, stats=Stats())
    watch = ProcessWatch(args.server_pid)
    helper = ProcessWatch(args.standin_pid)
    # keep-alive connections expire here well before uvicorn's 5 s: a server whose loop runs
    # late fires its keep-alive timer before it reads a request that came just in time, and
    # the client's reuse of that connection fails with ReadError (not the server's failure)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=1.0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        warm = min(WARM_SOCKETS, args.k)
        far = time.monotonic() + 3600
        run.window_start = run.window_end = far
        tasks = [
            asyncio.create_task(
                Candidate(run, i, creds[i] if creds else None, warm=True).play(http, 0)
            )
            for i in range(warm)
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.greeted_warm.wait(), timeout=30)
        await asyncio.sleep(0.2)
        rss_base = watch.rss()
        ramp_start = time.monotonic()
        rest = args.k - warm
        for n, i in enumerate(range(warm, args.k)):
            at = ramp_start + args.ramp * n / max(rest, 1)
            cand = Candidate(run, i, creds[i] if creds else None, warm=False)
            tasks.append(asyncio.create_task(cand.play(http, at)))
        # the window opens once every socket is open (and, with think time, greeted and idle:
        # the idle memory is read then), bounded by --max-wait
        gate = run.all_greeted if args.think > 0 else run.all_attempted
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gate.wait(), timeout=args.ramp + args.max_wait)
        ready_s = time.monotonic() - ramp_start
        idle_rss = None
        if args.think > 0:
            await asyncio.sleep(0.5)
            idle_rss = watch.rss()
            idle_streaming, idle_greeted = run.stats.streaming, run.stats.greeted
            run.first_answers.set()
        run.window_start = time.monotonic() + args.warmup
        run.window_end = run.window_start + args.measure
        sampler = asyncio.create_task(watch.sample(run))
        await asyncio.sleep(max(0.0, run.window_start - time.monotonic()))
        busy0, stand_cpu0 = machine_busy(), helper.cpu()
        (cpu0, sys0), own0 = watch.cpu_split(), own_cpu()
        stand0 = await standin_stats(http, args.standin)
        connected_at_start, streaming_at_start = run.stats.connected, run.stats.streaming
        tokens0, frames0, chunk_frames0 = (
            run.stats.tokens,
            run.stats.frames,
            run.stats.chunk_frames,
        )
        await asyncio.sleep(max(0.0, run.window_end - time.monotonic()))
        (cpu1, sys1), own1 = watch.cpu_split(), own_cpu()
        stand1 = await standin_stats(http, args.standin)
        busy1, stand_cpu1 = machine_busy(), helper.cpu()
        tokens1, frames1, chunk_frames1 = (
            run.stats.tokens,
            run.stats.frames,
            run.stats.chunk_frames,
        )
        run.stopping = True
        sampler.cancel()
        closers = [ws.close() for ws in list(run.sockets)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*closers, return_exceptions=True), 10)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    s, window = run.stats, args.measure
    result: dict[str, Any] = {
        "target": args.target,
        "k": args.k,
        "think_s": args.think,
        "tokens_per_reply": args.tokens,
        "window_s": window,
        "connected": s.connected,
        "connected_at_window_start": connected_at_start,
        "streaming_at_window_start": streaming_at_start,
        "replies": s.replies,
        "chunk_latency_ms": percentiles(s.chunk_lat),
        "thinking_ms": percentiles(s.thinking),
        "first_chunk_ms": percentiles(s.first_chunk),
        "pong_ms": percentiles(s.pong),
        "pong_streaming_ms": percentiles(s.pong_streaming),
        "tokens_per_s": round((tokens1 - tokens0) / window, 1),
        "chunk_frames_per_s": round((chunk_frames1 - chunk_frames0) / window, 1),
        "frames_per_s": round((frames1 - frames0) / window, 1),
        "server_cpu": round((cpu1 - cpu0) / window, 3) if watch.proc else None,
        "server_cpu_system": round((sys1 - sys0) / window, 3) if watch.proc else None,
        "server_rss_mib": round(watch.rss_max / 2**20, 1) if watch.proc else None,
        "server_rss_base_mib": round(rss_base / 2**20, 1) if watch.proc else None,
        "loadgen_cpu": round((own1 - own0) / window, 3),
        "errors": dict(s.errors),
        "error_samples": s.samples,
    }
    result["ready_s"] = round(ready_s, 1)
    server_cpu, own, stand_cpu = cpu1 - cpu0, own1 - own0, stand_cpu1 - stand_cpu0
    busy = busy1 - busy0
    result["standin_cpu"] = round(stand_cpu / window, 3) if helper.proc else None
    result["machine_busy_cores"] = round(busy / window, 3)
    # CPU time of everything else on the machine (other tenants): noise, reported with the run
    result["other_cores"] = round(max(0.0, busy - server_cpu - own - stand_cpu) / window, 3)
    if tokens1 > tokens0 and watch.proc:
        result["server_cpu_us_per_token"] = round(server_cpu / (tokens1 - tokens0) * 1e6, 1)
    if idle_rss is not None and idle_greeted > warm:
        # over the sockets open and greeted at that moment (not all K may have made it)
        result["idle_rss_mib"] = round(idle_rss / 2**20, 1)
        per_socket = (idle_rss - rss_base) / 1024 / (idle_greeted - warm)
        result["idle_kib_per_socket"] = round(per_socket, 1)
        result["idle_greeted"] = idle_greeted
        result["idle_streaming"] = idle_streaming
    if stand0 and stand1:
        result["standin"] = {
            "tokens_per_s": round((stand1["tokens"] - stand0["tokens"]) / window, 1),
            "timer_late_p99_ms": stand1.get("late_p99_ms"),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("hireez", "bare"), default="hireez")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--think", type=float, default=0.0, help="seconds (±25%%) before answering")
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds to open the K sockets")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds after the ramp")
    parser.add_argument("--measure", type=float, default=8.0, help="seconds measured")
    parser.add_argument("--tokens", type=int, default=100, help="tokens a reply (stand-in's)")
    parser.add_argument("--ping-every", type=float, default=1.0)
    parser.add_argument("--creds", help="JSON list of {email, password, interview_id} (hireez)")
    parser.add_argument("--offset", type=int, default=0, help="first credential to use")
    parser.add_argument("--server-pid", type=int, default=0)
    parser.add_argument("--standin-pid", type=int, default=0)
    parser.add_argument(
        "--max-wait", type=float, default=30.0, help="seconds past the ramp for all to connect"
    )
    parser.add_argument("--standin", help="the stand-in's base URL (for its /_stats)")
    parser.add_argument("--out", help="write the JSON result here (default: stdout)")
    args = parser.parse_args()
    if urlsplit(args.url).hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("the load generator only targets 127.0.0.1")
    if not 1 <= args.k <= 5000:
        raise SystemExit("--k must be between 1 and 5000")
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    budget = 30 + args.ramp + args.max_wait + args.warmup + args.measure + GRACE_SEC + 30
    result = asyncio.run(asyncio.wait_for(run_load(args), budget))
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
