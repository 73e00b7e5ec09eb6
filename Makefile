# The two commands: `make run` and `make test` (which runs `make lint` first). Everything they need is set up here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_BIN := /usr/lib/postgresql/15/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# pytest keeps its assertion-rewritten test modules in __pycache__ unless PYTHONDONTWRITEBYTECODE is set (as it is
# on the project's machine): then every worker of both passes rewrites all of them again, ~10 s CPU each.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest

.PHONY: run migrate lint test test-sqlite test-postgresql setup system-deps translations i18n bench clean

run: setup
	$(BIN)/python -m crm.devrun

# Apply the migrations to DATABASE_URL: once per deployment, before the new web processes and workers start.
migrate: setup
	$(BIN)/flask --app app db upgrade

# Ruff (lint and format) and the import-linter contracts in pyproject.toml (the dependency direction).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint system-deps
	$(PYTEST) -q -n auto
	CRM_TEST_DB=postgresql $(PYTEST) -q -n auto --ignore=tests/simulator -m "not db_agnostic"

test-sqlite: setup system-deps
	$(PYTEST) -q -n auto

test-postgresql: setup system-deps
	CRM_TEST_DB=postgresql $(PYTEST) -q -n auto --ignore=tests/simulator -m "not db_agnostic"

setup: $(STAMP) translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -d crm/translations

# Re-extract the messages from the code and merge them into the catalogues; then translate what is new or fuzzy.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -o crm/translations/messages.pot --ignore-dirs=".venv linesim bench tests" .
	$(BIN)/pybabel update --no-fuzzy-matching -i crm/translations/messages.pot -d crm/translations

# Debian packages the tests use: PostgreSQL 15 server, Chromium and a Japanese font for browser tests.
system-deps:
	@if [ ! -x $(PG_BIN)/initdb ] || ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi ipagothic; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 chromium fonts-ipafont-gothic fontconfig >/dev/null; \
	fi

bench: setup
	$(BIN)/python -m bench.webhook

clean:
	rm -rf $(VENV) instance .pytest_cache
