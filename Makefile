# Everyday commands. With DATABASE_URL and REDIS_URL unset, scripts/stack.py starts an
# embedded PostgreSQL and Redis for the command and stops them after; set them to use yours.
#   make run                     the demo at http://127.0.0.1:8000/
#   make test ARGS="-k sweep"    the test suite (extra pytest arguments in ARGS)

PYTHON ?= python3
VENV   := .venv
STACK  := $(VENV)/bin/python scripts/stack.py
ARGS   ?=
N      ?= 1000000
BENCH_ARGS ?=
WHO    ?= supervisor

.DEFAULT_GOAL := help
.PHONY: help install run test chromium lint fmt migrations-check assets shell bench code notify chaos

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv and install the pinned requirements

# pip runs again only when a requirements file is newer than the stamp.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or later is needed as $(PYTHON) (make PYTHON=python3.11 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

run: install ## set up and run web, worker and beat with demo data
	$(STACK) run

test: install chromium ## set up and run the whole test suite
	$(STACK) test $(ARGS)

chromium: ## make sure Debian's Chromium is at /usr/bin/chromium (browser tests)
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
		else \
			echo "Browser tests need Chromium at /usr/bin/chromium: install Debian's chromium" \
				"package (apt-get install chromium) as root, then run make test again."; \
			exit 1; \
		fi; \
	fi

lint: install ## check lint, formatting and the layer contract (apps import only those below)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

fmt: install ## fix what ruff can and format the code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: install ## fail if a model change has no migration
	$(STACK) exec -- python manage.py makemigrations --check --dry-run

assets: ## refresh the vendored GOV.UK and MOJ Frontend files (needs node and npm)
	scripts/vendor-assets

shell: install ## a Django shell with the services up
	$(STACK) exec -- python manage.py shell

# Builds <name>_bench_1000 and <name>_bench_$(N) the first time (minutes at a million cases)
# and keeps them; BENCH_ARGS="--rebuild" builds them again, "--help" lists the options.
bench: install ## national-scale benchmark: pages, checks and jobs at 1k and N cases (N=1000000)
	$(STACK) exec -- python scripts/bench_national.py --n $(N) $(BENCH_ARGS)

# Starts a PostgreSQL (var/chaos/postgres) and a Redis of its own, never DATABASE_URL's or
# REDIS_URL's, since it kills and restarts them. About a minute and a half; CI runs it.
chaos: install ## fault cases: a worker killed mid-sweep, Redis and PostgreSQL restarted
	$(VENV)/bin/python scripts/chaos.py

code: install ## the demo authenticator's current code for WHO (supervisor or admin)
	@DEBUG=1 $(STACK) exec -- python manage.py demo_code $(WHO) 2>/dev/null | tail -n 1

notify: install ## a stand-in for GOV.UK Notify on 127.0.0.1:6001; its settings go to var/notify.env
	$(VENV)/bin/python scripts/notify_standin.py
