# `make run` and `make test` set everything up on a fresh machine; see README.md.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup messages browser php embed run test test-postgres fuzz worker beat lint format check-deploy clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)

# Compile the translations (locale/*/LC_MESSAGES/django.po) with Babel: no GNU gettext needed.
messages: setup
	$(VENV)/bin/pybabel compile --statistics -d locale -D django

# The browser tests drive Debian's Chromium; Playwright never downloads a browser of its own.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the browser tests"; \
	  $$(test "$$(id -u)" = 0 || echo sudo) apt-get update -qq && \
	  $$(test "$$(id -u)" = 0 || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The README's WooCommerce snippet is run with Debian's PHP in the tests (tests/loyalty/test_storefront_recipes.py).
PHP ?= /usr/bin/php
php:
	@test -x $(PHP) || { echo "Installing Debian's php-cli for the storefront recipe test"; \
	  $$(test "$$(id -u)" = 0 || echo sudo) apt-get update -qq && \
	  $$(test "$$(id -u)" = 0 || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq php-cli >/dev/null; }

# The storefront widget: frontend/embed/src built with esbuild (pinned in package-lock.json) into
# static/embed/klubb.js, which is committed; a test checks it is a fresh build of the sources.
embed:
	cd frontend/embed && npm ci --no-audit --no-fund && npm run build

# Links in the messages the demo sends (points, tier, unsubscribe, vouchers) point at the server this starts:
# `make run PORT=8101` gives http://127.0.0.1:8101/ links, unless KLUBB_PORTAL_URL is set already.
run: export KLUBB_PORTAL_URL ?= http://$(HOST):$(PORT)/
run: setup messages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --port $(PORT)
	@$(PY) manage.py demo_banner --host $(HOST) --port $(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

test: setup messages browser php
	$(PY) -m pytest $(PYTEST_ARGS)

# The PostgreSQL half of CI, on the local server (see .ci/run).
test-postgres: setup messages browser php
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/klubb} KLUBB_REQUIRE_POSTGRES=1 $(PY) -m pytest $(PYTEST_ARGS)

# Production-style background processing: needs CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0).
worker: setup
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: setup
	$(VENV)/bin/celery -A config beat --loglevel=INFO

# The adversarial tests with fresh randomness and many more cases than CI's fixed run (minutes, not CI).
fuzz: setup messages
	HYPOTHESIS_PROFILE=thorough SCHEMATHESIS_MAX_EXAMPLES=$${SCHEMATHESIS_MAX_EXAMPLES:-300} \
		$(PY) -m pytest -p no:logging tests/loyalty/test_api_fuzz.py tests/loyalty/test_ledger_stateful.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports  # the import contracts in pyproject.toml

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check-deploy: setup
	DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(60))') \
	ALLOWED_HOSTS=klubb.example.com $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
