# One command runs the product (`make run`), one runs every test (`make test`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# daphne with the product's event loop, frame limits and no access log (config/server.py).
SERVER := $(BIN)/python -m config.server

.PHONY: install lock upgrade audit run serve test test-fast test-embedded test-scaled lint format migrate clean bench chaos soak

# Python packages come from the lock files only (exact versions, hash-checked): requirements/dev.txt
# (runtime and test tools) here, requirements/runtime.txt on a server. `make upgrade` refreshes them.
LOCK_RUNTIME := requirements/runtime.txt
LOCK_DEV := requirements/dev.txt
LOCK_UV := requirements/uv.txt
COMPILE := $(BIN)/uv pip compile --universal --python-version 3.11 --generate-hashes \
	--quiet --custom-compile-command "make lock"

$(STAMP): $(LOCK_DEV) $(LOCK_UV) package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK_UV)
	$(BIN)/uv pip sync --quiet --require-hashes --python $(BIN)/python $(LOCK_DEV)
	# axe-core for the browser tests' accessibility checks (skipped without npm).
	if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent; fi
	touch $(STAMP)

install: $(STAMP)

## Write the lock files again from pyproject.toml, keeping every pin that its ranges still allow.
lock: install
	$(COMPILE) pyproject.toml -o $(LOCK_RUNTIME)
	$(COMPILE) pyproject.toml --extra dev --constraint $(LOCK_RUNTIME) -o $(LOCK_DEV)
	echo uv | $(COMPILE) - --constraint $(LOCK_DEV) -o $(LOCK_UV)

## Move every pin to the newest version pyproject.toml allows, install it, then run the whole suite.
upgrade: install
	cp $(LOCK_DEV) $(VENV)/dev.before.txt
	$(MAKE) lock COMPILE='$(COMPILE) --upgrade'
	$(BIN)/python -m tools.lock_changes $(VENV)/dev.before.txt $(LOCK_DEV)
	$(MAKE) install lint test

## The locked versions against published vulnerability advisories (skipped, and says so, when offline).
audit: install
	$(BIN)/python -m tools.audit_dependencies

migrate: install
	$(BIN)/python manage.py migrate --noinput

## The embedded profile: SQLite, in-memory channel layer, Celery eager, demo staff.
run: migrate
	$(BIN)/python manage.py demo_setup --staff
	$(BIN)/python manage.py demo_directory
	@echo "Serving on http://$(HOST):$(PORT)/"
	$(SERVER) -b $(HOST) -p $(PORT)

## One daphne process of whatever profile the environment selects (see README).
serve: migrate
	$(SERVER) -b $(HOST) -p $(PORT)

## Every test: the embedded profile and the scaled profile (PostgreSQL and Redis) side by side.
test: install
	$(BIN)/python -m tests.run_all

test-embedded: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest

## Daily work: the embedded profile without browsers or server processes of their own, on two
## processes (pytest-xdist; TEST_FAST_PROCESSES to change), the randomised and stress tests a
## tenth as deep (tests/support/depth.py).
test-fast: install
	env -u DATABASE_URL -u REDIS_URL TEST_DEPTH=quick $(BIN)/pytest -q -m "not browser and not live" -n $${TEST_FAST_PROCESSES:-2}

test-scaled: install
	$(BIN)/python -m tests.scaled_run

## Load benchmark against real daphne processes; sizes from BENCH_* (docs/performance.md).
bench: install
	$(BIN)/python -m bench.run

## Conversations starting and ending for a set time or number, sampling the server's growth; SOAK_*
## (docs/performance.md, "Long runs").
soak: install
	$(BIN)/python -m bench.soak

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
