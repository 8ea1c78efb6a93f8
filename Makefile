# stockgraph developer tasks. Everything runs from the project's own virtualenv, which any
# target below builds when it is missing or older than pyproject.toml / the constraints file.
#
#   make run        migrate, load the demo network if the database is empty, then serve
#                   GraphiQL at http://HOST:PORT/graphql (default 127.0.0.1:8000)
#   make test       lint + type checks, find/start Redis and PostgreSQL, then the whole pytest suite
#   make lint       ruff and import-linter        make typecheck   mypy (strict)
#   make bench      python -m bench               make lock        re-pin requirements/constraints.txt
#   make clean      caches and build leftovers    make distclean   also the virtualenv
#
# VENV, PYTHON, HOST and PORT can be overridden: `make VENV=/tmp/venv venv`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        ?= .venv
HOST        ?= 127.0.0.1
PORT        ?= 8000
VENDOR_PORT ?= 8100
CONSTRAINTS := requirements/constraints.txt
STAMP       := $(VENV)/.installed
BIN         := $(VENV)/bin
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

.PHONY: help venv .venv run test lint typecheck bench lock clean distclean

help:
	@sed -n '4,10p' Makefile | sed 's/^# \{0,1\}//'

venv .venv: $(STAMP)

# The stamp is the venv's "installed at" mark: pip reruns when pyproject.toml or the pins change.
# This machine's pip config (a global constraint file, extra indexes) applies on top; that's fine.
# Debian's own python3 needs python3-venv for `-m venv`; install it when we can (root).
$(STAMP): pyproject.toml $(CONSTRAINTS)
	if [ ! -x $(BIN)/python ]; then \
	  $(PYTHON) -m venv $(VENV) || { \
	    rm -rf $(VENV); \
	    $(APT_INSTALL) python3-venv || { apt-get update -q && $(APT_INSTALL) python3-venv; } \
	      && $(PYTHON) -m venv $(VENV); }; \
	fi
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e '.[dev]'
	touch $@

# The demo keys (one per role, docs/access.md) unless STOCKGRAPH_API_KEYS_FILE names others.
run: export STOCKGRAPH_API_KEYS_FILE ?= deploy/demo-keys.toml
# The vendor simulator (docs/sources.md): vendor-nordic is pulled from it, vendor-alpen pushes.
run: export STOCKGRAPH_DEMO_VENDOR_URL ?= http://$(HOST):$(VENDOR_PORT)
run: export STOCKGRAPH_VENDOR_SIM_PUSH_KEY ?= demo-vendor-Zm5bQ1xR
# A line per request, to watch the demo work (off by default: README, settings).
run: export STOCKGRAPH_ACCESS_LOG ?= true
run: $(STAMP)
	mkdir -p var
	$(BIN)/stockgraph migrate
	$(BIN)/stockgraph demo --if-empty
	$(BIN)/stockgraph keys
	@echo "GraphiQL: http://$(HOST):$(PORT)/graphql (put {\"Authorization\": \"Bearer <key>\"} in its Headers tab)"
	$(BIN)/stockgraph vendor-sim --host $(HOST) --port $(VENDOR_PORT) \
	  --push-to http://$(HOST):$(PORT)/graphql & sim=$$!; \
	  trap 'kill $$sim 2>/dev/null' EXIT; \
	  $(BIN)/stockgraph serve --host $(HOST) --port $(PORT)

# Quick checks first (fail fast), then the services the suite talks to, then the suite.
test: $(STAMP) lint typecheck
	bash scripts/services.sh
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# Freeze what is installed in the venv now, keeping the file's comment header.
lock:
	@[ -x $(BIN)/pip ] || { echo "no $(VENV) yet: run 'make venv' first" >&2; exit 1; }
	{ grep '^#' $(CONSTRAINTS); \
	  $(BIN)/pip freeze --exclude-editable | grep -viE '^stockgraph([=@ ]|$$)'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
