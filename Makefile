# Lantai 兰台 — set-up and everyday commands. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/lantai
DEBIAN_PACKAGES := gettext chromium fonts-wqy-zenhei

.PHONY: run test install system-deps lint format messages test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Lantai needs Python ≥ 3.11 (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: system-deps $(STAMP) messages

# Debian packages Lantai needs: gettext (compilemessages), Chromium (browser tests), a CJK font
# (PDFs). Installed only when missing; a clear message when that is impossible.
system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	    echo "Cannot install$$missing: run as root or install them yourself (apt-get install$$missing)."; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null \
	    || { echo "apt-get could not install$$missing; install them and run make again."; exit 1; }; \
	fi

messages: $(STAMP)
	@cd src/lantai && ../../$(BIN)/lantai compilemessages --verbosity 0

run: install
	LANTAI_DEBUG=1 $(BIN)/lantai migrate --no-input
	LANTAI_DEBUG=1 $(BIN)/lantai demo --if-empty --base-url http://$(HOST):$(PORT)
	LANTAI_DEBUG=1 $(BIN)/lantai serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

test: install lint test-sqlite test-postgres

# --dist loadgroup: tests marked xdist_group (shared MQTT broker, Chromium, ops restarts) run
# on one worker. --no-loadscope-reorder keeps pytest-django's order (transactional tests
# last): sorted by size, the groups of transactional tests went first and left their audit
# entries (the audit table refuses DELETE, so a flush keeps it) under the ordinary tests.
PYTEST_XDIST := -n 2 --dist loadgroup --no-loadscope-reorder

test-sqlite:
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_XDIST)

# The same suite against the local PostgreSQL server. Under CI=true it is mandatory: the
# conftest fails (does not skip) when the server cannot be reached.
test-postgres:
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -p no:cacheprovider $(PYTEST_XDIST)

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
