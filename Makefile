# regexp: every target installs what it needs into .venv first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
# A CPU build of torch (fast to install here). For CUDA: make install TORCH=torch
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: help install run test test-fast lint format clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install regexp with its dev tools

run: $(STAMP)  ## the default experiment (make run ARGS="hidden_units=[64] penalty=l2")
	$(BIN)/regexp run $(ARGS)

test: $(STAMP)  ## the whole test suite, slow end-to-end sweeps included
	$(BIN)/pytest -q

test-fast: $(STAMP)  ## the tests without the slow end-to-end sweeps
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## ruff format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:  ## remove outputs and caches (keeps .venv)
	rm -rf outputs multirun .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
