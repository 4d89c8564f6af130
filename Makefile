# The two commands: `make maestro-api` (set up and serve) and `make maestro-test`
# (set up and run the whole suite). `make install` is the set-up both share.

PYTHON ?= python3
VENV ?= .venv
HOST ?= 0.0.0.0
PORT ?= 8001
WORKERS ?= 1
PYTEST_ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install maestro-api maestro-test lint schemathesis docs bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# `maestro server` checks that the port is free before it migrates (unless
# MAESTRO_AUTO_MIGRATE=false), so a busy port fails at once and leaves the database alone.
maestro-api: install
	$(BIN)/maestro server --host $(HOST) --port $(PORT) --workers $(WORKERS)

maestro-test: install
	$(BIN)/python -m pytest tests/maestro/ $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy maestro
	$(BIN)/lint-imports

# The server held to its OpenAPI document (a real server on a free port; see schemathesis.toml).
schemathesis: install
	bash .ci/schemathesis.sh

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .venv-schemathesis .schemathesis .pytest_cache .mypy_cache .ruff_cache .hypothesis
