# Two entry points do all set-up on a fresh clone:
#   make run   bootstrap .venv, run the default benchmark, print its leaderboard
#   make test  bootstrap .venv, run the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.dabench-installed

.PHONY: run test lint venv clean-venv browser

venv: $(STAMP)

# Re-install when the package metadata changes; the stamp keeps repeated runs instant.
$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/dabench bench quick
	$(BIN)/dabench report --suite quick

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

# The HTML report test opens the page in headless Chromium: install Debian's
# chromium and its driver when missing and we can (root with apt-get); quick
# when already installed. Without them that one test skips and says why.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium chromium-driver >/dev/null \
		|| echo "could not install chromium: the browser test will skip"; \
	else echo "chromium missing and not installable here: the browser test will skip"; fi

lint: $(STAMP)
	$(BIN)/ruff check dabench tests
