# HireEz: `make run` starts everything on the embedded default; `make test` runs every test.
SHELL := /bin/bash
PY_VERSION ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
BACKEND := backend
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test test-backend test-embedded test-real lint bench migrate seed clean

setup: $(STAMPS)/backend

$(STAMPS)/backend: $(BACKEND)/pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PY_VERSION) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '$(BACKEND)[dev]'
	@touch $@

migrate: setup
	cd $(BACKEND) && ../$(PY) -m alembic upgrade head

seed: migrate
	cd $(BACKEND) && ../$(PY) -m app.seed --host $(HOST) --port $(PORT)

run: seed
	cd $(BACKEND) && ../$(PY) -m uvicorn app.main:app --host $(HOST) --port $(PORT) \
		--ws websockets-sansio --loop uvloop --http httptools --ws-per-message-deflate false

test: setup lint test-backend

test-backend: test-embedded test-real

test-embedded: setup
	cd $(BACKEND) && HIREEZ_TEST_MODE=embedded ../$(PY) -m pytest -q

test-real: setup
	cd $(BACKEND) && HIREEZ_TEST_MODE=real ../$(PY) -m pytest -q

lint: setup
	cd $(BACKEND) && ../$(VENV)/bin/ruff check app tests alembic
	cd $(BACKEND) && ../$(VENV)/bin/mypy

bench:
	@echo "make bench: the load benchmark is not there yet (issue 7)."

clean:
	rm -rf $(STAMPS) $(BACKEND)/data $(BACKEND)/hireez.db*
