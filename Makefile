# DataWave developer commands. `make up` runs the service with the demo estate; `make test` tests.
VENV ?= .venv
PYTHON ?= python3
DW := $(VENV)/bin/datawave
PYTEST_ARGS ?=

.PHONY: up test down status install system-deps lint bench schema chaos

$(VENV)/.installed: pyproject.toml devstack/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev,ml]' -e ./devstack
	touch $@

install: $(VENV)/.installed

system-deps:
	bash infra/bootstrap.sh

## Start the stack, migrate, load and scan the demo estate, then serve on :8000.
up: system-deps install
	$(DW) stack up
	$(DW) migrate
	$(DW) up --demo

## Start the stack if needed, then run every test against it.
test: system-deps install
	$(DW) stack up
	$(DW) migrate
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## The fault matrix alone (docs/operations.md), printing time to recover per dependency: fault
## proxies in front of the shared Neo4j, Redis, OpenSearch and a source database, a private Kafka
## broker; safe on a shared stack.
chaos: system-deps install
	$(DW) stack up
	$(DW) migrate
	DATAWAVE_CHAOS=1 $(VENV)/bin/pytest -q -s -p no:cacheprovider tests/integration/resilience $(PYTEST_ARGS)

down:
	$(DW) stack down

status:
	$(DW) stack status

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# The layering of docs/architecture.md: imports only go down, Cypher only in graph/.
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/unit/test_layers.py

schema: install
	$(VENV)/bin/python -c "from pathlib import Path; from strawberry.printer import print_schema; \
	from resolvers.schema import schema; Path('schema.graphql').write_text(print_schema(schema) + '\n')"

bench: system-deps install
	$(VENV)/bin/pip install -q -e '.[dev,ml,bench]'
	$(DW) stack up
	$(DW) migrate
	for b in bench/*.py; do $(VENV)/bin/python $$b || exit 1; done
