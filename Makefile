# The verbs a person types. Everything installs into .venv with only Python 3.11+ present.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean bench

run: $(STAMP)  ## start the whole stack on this machine, with demo data
	$(BIN)/shelfops-alerts dev

test: $(STAMP)  ## run every test (unit and integration, on real servers the tests start)
	$(BIN)/pytest

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shelfops_alerts workers

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .shelfops .pytest_cache .mypy_cache .ruff_cache *.egg-info
