# geosvc: two set-up commands on a fresh machine
#   make demo   install, build the demo city if needed, serve API + maps on 127.0.0.1:8000
#   make test   install (incl. Debian packages the tests need), run the gates, then the
#               whole test suite
#   make gates  ruff (lint, docstrings, complexity), mypy, import contracts; no tests
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo test gates install install-test system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test system-deps

system-deps:
	bash scripts/install_system_deps.sh

demo: install
	$(BIN)/geosvc demo --host $(HOST) --port $(PORT)

# What CI enforces besides the tests (configuration: ruff.toml, setup.cfg [mypy] and the
# contracts in .importlinter).  Run before pytest so a lint or type error fails fast.
gates: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy geosvc
	$(BIN)/lint-imports --no-logo

test: install-test gates
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: install-test
	$(BIN)/python scripts/bench_index.py
	$(BIN)/python scripts/bench_network.py
	$(BIN)/python scripts/bench_plan.py

clean:
	rm -rf $(VENV) .geosvc-cache var
