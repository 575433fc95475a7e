# Two commands do all the set-up on a fresh machine:
#   make run    creates .venv, installs the sandbox, starts the app (http://localhost:8501)
#   make test   creates .venv, installs the sandbox with its test extra, runs every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run streamlit_app.py

test: $(STAMP)
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

# the README's screenshots, taken by the browser tests (needs Debian's chromium)
screenshots: $(STAMP)
	SANDBOX_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/e2e -q

bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
