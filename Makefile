# shopdemo developer / CI entry points.  Recipes use tabs.
#
#   make run            dev server on http://localhost:8000 and a db_worker for its mail (DEBUG=true, demo users seeded)
#   make test           pytest on SQLite (+ headless Chromium browser tests)
#   make test-postgres  pytest on a throwaway PostgreSQL cluster (scripts/with-postgres.sh)
#   make serve          collectstatic + migrate + gunicorn (DEBUG off)
#   make cluster        HAProxy + two gunicorns (a db_worker each) + PostgreSQL + Redis + Prometheus on loopback (Ctrl-C stops all)
#
# Pass extra pytest arguments with PYTEST_ARGS, e.g. make test PYTEST_ARGS='-k cart -x'.

PYTHON3          ?= python3
VENV             := .venv
PY               := $(VENV)/bin/python
RUNTIME_STAMP    := $(VENV)/.deps-runtime
DEV_STAMP        := $(VENV)/.deps-dev

DEMO_PASSWORD    ?= shopdemo-demo-2026
PYTEST_ARGS      ?=
BIND             ?= 127.0.0.1:8000
WEB_CONCURRENCY  ?= 2
GUNICORN_THREADS ?= 4

# Environment shared by both test targets: no .env is read, so a developer's
# settings cannot leak in (test-postgres' script then sets its own DATABASE_URL).
TEST_ENV := env ENV_FILE=/dev/null DATABASE_URL=sqlite:///$(CURDIR)/db.sqlite3 CACHE_URL=locmemcache:// DEBUG=false SECRET_KEY=insecure-test-only-key

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-postgres serve deps deps-dev clean lint

# --- dependencies (stamp files inside the venv) ------------------------------

$(PY):
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Browser tooling from npm, pinned by package-lock.json: axe-core (the accessibility
# checks in the browser tests), Lighthouse (make audit-ui) and puppeteer-core (the
# Firefox journeys, over WebDriver BiDi). --ignore-scripts: no install step may download
# anything (Lighthouse drives the Debian Chromium, puppeteer-core Debian's firefox-esr).
NODE_STAMP := node_modules/.deps-npm

$(NODE_STAMP): package.json package-lock.json
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

deps: $(RUNTIME_STAMP)
deps-dev: $(DEV_STAMP) $(NODE_STAMP)

# --- development server ------------------------------------------------------

run: $(RUNTIME_STAMP)
	@if [ -s .env ] && [ -n "$$(tail -c1 .env)" ]; then echo >> .env; fi
	@if [ ! -f .env ] || ! grep -q '^SECRET_KEY=.' .env; then \
		echo "SECRET_KEY=$$($(PY) -c 'import secrets, string; a = string.ascii_letters + string.digits; print("".join(secrets.choice(a) for _ in range(50)))')" >> .env; \
		echo "Wrote a new random SECRET_KEY to .env"; \
	fi
	DEBUG=true $(PY) manage.py collectstatic --noinput -v0
	DEBUG=true DEMO_PASSWORD='$(DEMO_PASSWORD)' $(PY) manage.py migrate --noinput
	DEBUG=true DEMO_PASSWORD='$(DEMO_PASSWORD)' $(PY) manage.py seed_demo --users
	@echo ""
	@echo "  ------------------------------------------------------------------"
	@echo "  shopdemo is starting."
	@echo "  Open http://localhost:8000 and sign in as demo / alice / bob"
	@echo "  with password: $(DEMO_PASSWORD)   (demo is staff: http://localhost:8000/admin/)"
	@echo "  (change it with: make run DEMO_PASSWORD=...)   Stop with Ctrl-C."
	@echo "  Mail (printed below) is sent by the db_worker that runs beside the server."
	@echo "  ------------------------------------------------------------------"
	@echo ""
	@# One shell for both: Ctrl-C (or the server stopping) also stops the worker.
	DEBUG=true $(PY) manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=true DEMO_PASSWORD='$(DEMO_PASSWORD)' $(PY) manage.py runserver 127.0.0.1:8000

# --- tests ---------------------------------------------------------------------

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check accounts cart shopdemo tests bench scripts manage.py gunicorn.conf.py
	$(VENV)/bin/ruff format --check accounts cart shopdemo tests bench scripts manage.py gunicorn.conf.py

test: $(DEV_STAMP) $(NODE_STAMP) lint alert-rules
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-firefox.sh
	bash scripts/ensure-redis.sh
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

# The Prometheus alert rules: valid, and each fires on what it is for (alerts.test.yml).
.PHONY: alert-rules
alert-rules:
	bash scripts/ensure-prometheus.sh
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts.test.yml

test-postgres: $(DEV_STAMP) $(NODE_STAMP)
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-firefox.sh
	bash scripts/ensure-redis.sh
	bash scripts/ensure-haproxy.sh
	bash scripts/ensure-prometheus.sh
	$(TEST_ENV) bash scripts/with-postgres.sh $(PY) -m pytest $(PYTEST_ARGS)

# --- production-like server ----------------------------------------------------

serve: $(RUNTIME_STAMP)
	DEBUG=false $(PY) manage.py collectstatic --noinput
	DEBUG=false $(PY) manage.py migrate --noinput
	DEBUG=false exec $(VENV)/bin/gunicorn shopdemo.wsgi:application --bind $(BIND) --workers $(WEB_CONCURRENCY) --threads $(GUNICORN_THREADS) --access-logfile -

# --- storefront audit and screenshots ----------------------------------------------
# audit-ui: Lighthouse 12.2.3 (mobile preset) on catalog, product, cart, sign-in, register; fails
# below 100 in any category. screenshots: docs/img/catalog-{desktop,phone}.png, taken by
# the browser tests (tests/browser/test_screenshots.py) on the seeded demo catalog.

.PHONY: audit-ui screenshots
audit-ui: $(DEV_STAMP) $(NODE_STAMP)
	bash scripts/ensure-chromium.sh
	bash scripts/audit-ui.sh

screenshots: $(DEV_STAMP)
	bash scripts/ensure-chromium.sh
	$(TEST_ENV) SCREENSHOT_DIR=$(CURDIR)/docs/img $(PY) -m pytest tests/browser/test_screenshots.py -q

# --- several app servers ---------------------------------------------------------
# HAProxy on http://127.0.0.1:$(CLUSTER_PORT) in front of two gunicorns, throwaway
# PostgreSQL and Redis, SESSION_CACHED=true; see scripts/cluster.py and docs/scaling.md.

CLUSTER_PORT       ?= 8103
APP_A_PORT         ?= 8104
APP_B_PORT         ?= 8105
CLUSTER_PG_PORT    ?= 54334
CLUSTER_REDIS_PORT ?= 63803
CLUSTER_PROMETHEUS_PORT ?= 9103

.PHONY: cluster
cluster: $(RUNTIME_STAMP)
	bash scripts/ensure-redis.sh
	bash scripts/ensure-haproxy.sh
	bash scripts/ensure-prometheus.sh
	DEMO_PASSWORD='$(DEMO_PASSWORD)' CLUSTER_PORT=$(CLUSTER_PORT) APP_A_PORT=$(APP_A_PORT) APP_B_PORT=$(APP_B_PORT) \
		CLUSTER_REDIS_PORT=$(CLUSTER_REDIS_PORT) CLUSTER_PROMETHEUS_PORT=$(CLUSTER_PROMETHEUS_PORT) \
		PGPORT_TEST=$(CLUSTER_PG_PORT) bash scripts/with-postgres.sh $(PY) -m scripts.cluster

# --- benchmark -------------------------------------------------------------------
# Needs wrk (Debian package `wrk`, installed here when missing and running as root).
# BENCH_SECONDS per scenario (10), BENCH_PURGE_ROWS (1000000,3000000); see bench/run.py (python -m bench.run).

.PHONY: bench
bench: $(DEV_STAMP)
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; \
		else \
			echo "make bench needs wrk: sudo apt-get install wrk" >&2; exit 1; \
		fi; }
	DEMO_PASSWORD='$(DEMO_PASSWORD)' bash scripts/with-postgres.sh $(PY) -m bench.run

clean:
	rm -f $(RUNTIME_STAMP) $(DEV_STAMP)
