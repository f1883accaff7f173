# Engage: `make run` for a first look on the embedded default, `make test` for the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: run test bench messages install install-dev chromium clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Compiles locale/*/LC_MESSAGES/*.po into .mo in pure Python (no gettext tools needed).
messages: $(VENV)/.installed
	$(PY) manage.py compile_translations

run: install messages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Engage on http://127.0.0.1:8000  (Ctrl-C stops the web server, the Celery worker and beat)"
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho -f engage/Procfile -d . start

# Browser tests: Debian's chromium, and fonts-noto-cjk so screenshots and PDFs viewed there show Chinese.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && dpkg -s fonts-noto-cjk >/dev/null 2>&1; } || { \
		echo "Installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

test: install-dev messages chromium
	$(VENV)/bin/ruff check .
	DJANGO_SETTINGS_MODULE=engage.settings.test $(PY) -m pytest

bench: install-dev messages
	$(PY) -m tests.benchmarks $(if $(ONLY),--only $(ONLY)) $(if $(SKIP),--skip $(SKIP))

clean:
	rm -rf var .pytest_cache .ruff_cache tests/e2e/artifacts
