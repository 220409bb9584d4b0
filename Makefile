# Every target sets up what it needs: a fresh machine with Python 3.11 and the package registries is enough.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: help install run test lint format typecheck browsers bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt tools/install_test_models.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	bash tools/install_test_models.sh $(PY)
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

run: $(STAMP) ## run the server on port 8000 with the embedded defaults
	$(PY) main.py

test: $(STAMP) lint typecheck browsers ## lint, type-check and run the whole test suite
	$(PY) -m pytest

browsers: ## install Debian's chromium + chromedriver for the browser test (needs root and apt)
	bash tools/ensure_chromium.sh

lint: $(STAMP) ## ruff lint and format check, and the layering contracts (import-linter)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(STAMP) ## apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

typecheck: $(STAMP) ## mypy --strict on the package, the tests and the benchmarks
	$(PY) -m mypy

bench: $(STAMP) ## speech and interview benchmarks (see docs/benchmarks.md)
	$(PY) bench/tts.py --server --edge
	$(PY) bench/interviews.py
	$(PY) bench/stt.py

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
