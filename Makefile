# Two entry points do all set-up on a fresh clone:
#   make run   bootstrap .venv, run the default benchmark, print its leaderboard
#   make test  bootstrap .venv, run the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.dabench-installed

.PHONY: run test lint venv clean-venv

venv: $(STAMP)

# Re-install when the package metadata changes; the stamp keeps repeated runs instant.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/dabench bench quick
	$(BIN)/dabench report --suite quick

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check dabench tests
