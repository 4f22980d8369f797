# One command runs the product (`make run`), one runs every test (`make test`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# daphne with the product's event loop, frame limits and no access log (config/server.py).
SERVER := $(BIN)/python -m config.server

.PHONY: install run serve test test-embedded test-scaled lint format migrate clean bench chaos

$(STAMP): pyproject.toml package.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# axe-core for the browser tests' accessibility checks (skipped without npm).
	if command -v npm >/dev/null; then npm install --no-audit --no-fund --silent; fi
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

## The embedded profile: SQLite, in-memory channel layer, Celery eager, demo staff.
run: migrate
	$(BIN)/python manage.py demo_setup --staff
	@echo "Serving on http://$(HOST):$(PORT)/"
	$(SERVER) -b $(HOST) -p $(PORT)

## One daphne process of whatever profile the environment selects (see README).
serve: migrate
	$(SERVER) -b $(HOST) -p $(PORT)

## Every test: the embedded profile, then the scaled profile on PostgreSQL and Redis.
test: test-embedded test-scaled

test-embedded: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest

test-scaled: install
	$(BIN)/python -m tests.scaled_run

## Load benchmark against real daphne processes; sizes from BENCH_* (docs/performance.md).
bench: install
	$(BIN)/python -m bench.run

## Failure injection on the scaled profile (private Redis, fresh databases); CHAOS_SCENARIOS=a,c picks some.
chaos: install
	$(BIN)/python -m bench.chaos

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm .pytest_cache .mypy_cache .ruff_cache
