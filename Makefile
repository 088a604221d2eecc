# Two entry points for a fresh clone: `make demo` and `make test`. Each sets up what it needs first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
STAMP := $(VENV)/.synced

.PHONY: setup system-deps demo test lint pytest bench preview check rehearse clean

$(STAMP): pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
	@touch $@

setup: $(STAMP)

## System packages the browser tests need (headless Chromium); installs them when run as root.
system-deps:
	@bash scripts/system-deps.sh

demo: setup
	$(BIN)/mlops demo

test: setup system-deps lint pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: setup
	$(BIN)/pytest -n 2 --dist loadgroup

bench: setup
	$(BIN)/python -m bench

preview: setup
	$(BIN)/mlops preview --stack dev

check: setup
	$(BIN)/mlops check --all

rehearse: setup
	$(BIN)/mlops rehearse

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache work
