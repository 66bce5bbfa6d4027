# Navigator: `make run` for the demo, `make test` for the suite. See README.md.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

# Tests run against PostgreSQL and Redis on localhost unless told otherwise.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/navigator)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/0)
PYTEST_ARGS ?=
# pytest-xdist processes for `make test` (each with its own test database and Redis database).
TEST_PROCESSES ?= auto

.PHONY: install run test lint typecheck bench clean messages lock audit-deps

# Installs exactly the locked versions, each checked against its hash (make lock writes the locks).
$(VENV)/.installed: requirements.lock requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q --require-hashes -r requirements-dev.lock
	touch $@

# The locks: every package (direct and transitive) at one version with its hashes, from the pins in
# requirements.txt (the image) and requirements-dev.txt (tests and tools). Run after changing a pin.
LOCK_FLAGS = --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	test -x $(VENV)/bin/pip-compile || $(PIP) install -q pip-tools==7.6.2
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) -o requirements.lock requirements.txt
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) -o requirements-dev.lock requirements-dev.txt

# Known vulnerabilities in the locked packages (needs the PyPI JSON API or OSV to be reachable);
# --strict: a package whose advisories could not be read fails the audit instead of being skipped.
audit-deps: install
	$(VENV)/bin/pip-audit --strict --disable-pip --require-hashes -r requirements-dev.lock

install: $(VENV)/.installed

# The demo: SQLite, a filesystem broker, a worker and beat, synthetic data.
run: install
	bin/run-demo

# bin/with-services uses the PostgreSQL and Redis at these URLs, or starts private ones for the run
# when nothing answers there (and says what to install when the servers are not installed).
test: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) DJANGO_SECRET_KEY=test-only-secret \
		bin/with-services $(VENV)/bin/pytest --create-db -n $(TEST_PROCESSES) $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .

# Types (settings in pyproject.toml): the service layer, every selectors module, the access rule and
# the webhooks app. Only paths that exist are passed, so a module or app that lands later is checked
# from then on without touching this list.
TYPECHECK_PATHS = $(sort $(filter-out webhooks/%,$(wildcard */services.py */services/*.py */selectors.py)) \
	cases/access.py $(wildcard webhooks))

typecheck: install
	DJANGO_SECRET_KEY=typecheck-only $(VENV)/bin/mypy $(TYPECHECK_PATHS)

# The benchmarks use their own database (DATABASE_URL's name + "_bench", or BENCH_DATABASE_URL).
BENCH_ARGS ?=
bench: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) DJANGO_SECRET_KEY=bench-only-secret \
		bin/with-services $(PY) bench/run.py $(BENCH_ARGS)

messages: install
	DJANGO_DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var db.sqlite3
