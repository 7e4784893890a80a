# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint format bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[postgres]"
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

$(VENV)/.bench-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[bench]"
	touch $@

# A signing key for this checkout only, made once and never committed (.env is ignored).
.env:
	@$(PYTHON) -c "import secrets; print('SECRET_KEY=' + secrets.token_urlsafe(50))" > $@
	@echo "Wrote .env with a new SECRET_KEY."

run: export PORTAL_SCHEME ?= http
run: export PORTAL_PORT ?= $(PORT)
run: $(VENV)/.run-deps .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo --if-empty
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	PORT=$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py

test: $(VENV)/.test-deps
	$(BIN)/python tests/install_peers.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Performance harness (docs/performance.md): SQLite and PostgreSQL, about 8 minutes.
# BENCH_QUICK=1 (or `make bench-quick`) is SQLite only with fewer rounds, for iteration.
# BENCH_ARGS passes options through, e.g. BENCH_ARGS="--db postgres --parts pages".
BENCH_ARGS ?=
bench: $(VENV)/.bench-deps
	$(BIN)/python -m bench.install_wrk
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: export BENCH_QUICK = 1
bench-quick: bench

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache *.egg-info
