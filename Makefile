# Keel: `make run` sets up and runs the embedded demo; `make test` sets up and runs the test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# Tests run in three processes (pytest-xdist; many tests wait on servers they start, so three keep two CPUs busy),
# a test file per process at a time; `make test XDIST=` runs them in one.
XDIST ?= -n 3 --dist loadfile

.PHONY: install run test test-sqlite bench backup restore lint format clean evidently-env

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

## Evidently in its own virtualenv, for the monitoring-signal tests that generate a real report (it cannot
## share Keel's: scripts/evidently-requirements.txt says why). Tests find it at .venv-evidently or $EVIDENTLY_PYTHON.
EVIDENTLY_VENV := .venv-evidently
$(EVIDENTLY_VENV)/.installed: scripts/evidently-requirements.txt
	test -x $(EVIDENTLY_VENV)/bin/python || $(PYTHON) -m venv $(EVIDENTLY_VENV)
	$(EVIDENTLY_VENV)/bin/python -m pip install --quiet -r scripts/evidently-requirements.txt
	touch $(EVIDENTLY_VENV)/.installed

evidently-env: $(EVIDENTLY_VENV)/.installed

## Set up and run Keel on the embedded default: SQLite + filesystem broker, web + worker + beat, demo data.
run: install
	KEEL_EMBEDDED=true ./scripts/run_embedded.sh

## Set up and run every test (SQLite by default; PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set).
test: install evidently-env
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	KEEL_EMBEDDED=true $(PY) manage.py makemigrations --check --dry-run
	KEEL_EMBEDDED=true $(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

## The embedded default's own tests (marker sqlite_only) on SQLite, whatever DATABASE_URL/REDIS_URL say.
## `make test` on PostgreSQL skips them, so CI (.ci/run) runs this after it; CI=true is kept, and the
## PostgreSQL-only tests are not selected here. On a dev machine `make test` already ran them on SQLite.
test-sqlite: install evidently-env
	env -u DATABASE_URL -u REDIS_URL KEEL_EMBEDDED=true $(PY) -m pytest -m sqlite_only $(PYTEST_ARGS)

## `make bench`: every benchmark in turn (docs/benchmarks.md), each on SQLite and, when BENCH_POSTGRES_URL is set,
## again on PostgreSQL; each prints a table and writes a JSON report under var/bench/. Keel's full MLflow sync
## (2,000 versions on a real server it starts) against a bare HTTP fetch and MLflow's own client; the executive
## dashboard's server time at 100 and 5,000 projects (36 months of ROI entries each); OpenLineage ingest in
## process; PII propagation on a lineage graph of 10,000 datasets (SQLite only); verify_audit's rows/s and
## memory at 10,000 and 100,000 events; the main API lists' requests/s under gunicorn as a ratio to the API
## root's; the load test (the personas' journeys under locust, LOAD_BENCH_ARGS, e.g. "--users 40 --seconds
## 120"); OpenLineage ingest end to end through HTTP (gunicorn + a Celery worker; BENCH_REDIS_URL as its broker
## on PostgreSQL when set). A step that fails is noted and the next one runs; last, scripts/bench_summary.py
## prints and writes the table of issue #15's goals (into docs/benchmarks.md and var/bench/summary.json) and
## fails the run when a goal is not met, did not run, or a step failed.
BENCH_FAILED := var/bench/failed_steps.txt
# $(call bench_step,<script>,<its arguments>): on SQLite, then on PostgreSQL when BENCH_POSTGRES_URL is set;
# a non-zero exit is noted in $(BENCH_FAILED) instead of stopping the run.
define bench_step
KEEL_EMBEDDED=true $(PY) scripts/$(1) $(2) || echo "$(1) on SQLite exited $$?" >> $(BENCH_FAILED)
if [ -n "$(BENCH_POSTGRES_URL)" ]; then KEEL_EMBEDDED=true DATABASE_URL="$(BENCH_POSTGRES_URL)" \
  BENCH_REDIS_URL="$(BENCH_REDIS_URL)" $(PY) scripts/$(1) $(2) || echo "$(1) on PostgreSQL exited $$?" >> $(BENCH_FAILED); fi
endef

bench: install
	$(PY) scripts/bench_summary.py --start --databases sqlite $(if $(BENCH_POSTGRES_URL),postgresql)
	$(call bench_step,bench_registry_sync.py,$(BENCH_ARGS))
	$(call bench_step,bench_dashboard.py,$(DASHBOARD_BENCH_ARGS))
	$(call bench_step,bench_lineage.py,$(LINEAGE_BENCH_ARGS))
	KEEL_EMBEDDED=true $(PY) scripts/bench_propagation.py $(PROPAGATION_BENCH_ARGS) \
	  || echo "bench_propagation.py on SQLite exited $$?" >> $(BENCH_FAILED)
	$(call bench_step,bench_verify_audit.py,$(VERIFY_BENCH_ARGS))
	$(call bench_step,bench_api_lists.py,$(API_BENCH_ARGS))
	$(call bench_step,bench_load.py,$(LOAD_BENCH_ARGS))
	$(call bench_step,bench_lineage_e2e.py,$(LINEAGE_E2E_BENCH_ARGS))
	$(PY) scripts/bench_summary.py

## Back up the database (pg_dump -Fc, or SQLite's online backup API), the evidence files and the demo's key
## files into BACKUP (default var/backups/keel-<UTC time>). Restore into a fresh database, then check rows,
## files and the audit chain: `make restore BACKUP=var/backups/keel-…` (README: "Backup and restore").
backup: install
	KEEL_EMBEDDED=$${KEEL_EMBEDDED:-true} $(PY) manage.py backup $(if $(BACKUP),--output "$(BACKUP)")

restore: install
	test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=<backup folder>"; exit 2; }
	KEEL_EMBEDDED=$${KEEL_EMBEDDED:-true} $(PY) manage.py restore "$(BACKUP)"

lint: install
	$(PY) -m ruff check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf var/ $(VENV)
