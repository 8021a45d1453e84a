# kefu — the two commands of the quick start, and the pieces they are made of.
# `make demo` installs and starts the demo on the embedded default (SQLite, in-process jobs).
# `make test` installs what the tests need (Python packages, Chromium for browser tests) and runs
# the whole suite: lint, SQLite, PostgreSQL, Redis and browser tests.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install install-test system-deps services lint test-sqlite test-postgres vendor clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

demo: install
	$(BIN)/kefu demo --host $(HOST) --port $(PORT)

# Debian packages for browser tests (Chromium and a CJK font) — installed only when missing.
system-deps:
	@bash scripts/ensure_system_deps.sh

# PostgreSQL and Redis must be running for the full suite; start them when they are installed but down.
services:
	@bash scripts/ensure_services.sh

lint: install-test
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench
	$(BIN)/mypy

test-sqlite: install-test
	$(BIN)/python -m pytest -q -p no:cacheprovider --db=sqlite

test-postgres: install-test services
	$(BIN)/python -m pytest -q -p no:cacheprovider --db=postgres -m "not browser"

test: install-test system-deps services lint
	$(BIN)/python -m pytest -q -p no:cacheprovider --db=sqlite
	$(BIN)/python -m pytest -q -p no:cacheprovider --db=postgres -m "not browser"

vendor:
	$(PYTHON) scripts/vendor_assets.py

clean:
	rm -rf $(VENV) var build dist *.egg-info
