# Two commands from a fresh clone: `make run` (the whole local system) and `make test` (every test).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INFRA_VENV := .venv-infra
MODEL_DIR := var/models/demo

.PHONY: run test install node-tools system-tools infra-tools notebook-tools model lint typecheck pytest bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[train,dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node-tools

node-tools: node_modules/.installed

# Debian packages the tests drive: a real browser, kubectl (kustomize) and promtool (package prometheus).
system-tools:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v kubectl >/dev/null || missing="$$missing kubectl"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing (apt)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# checkov pins old shared libraries, so it lives in a virtualenv of its own (pins: pyproject.toml).
$(INFRA_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet $$($(PYTHON) tools/extra_requirements.py infra-lint)
	touch $@

infra-tools: $(INFRA_VENV)/.installed

# powerbiclient imports pyspark and Jupyter widgets: the notebook gets a virtualenv of its own.
.venv-notebook/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-notebook
	.venv-notebook/bin/pip install --quiet -e '.[powerbi-notebook]'
	touch $@

notebook-tools: .venv-notebook/.installed

$(MODEL_DIR)/manifest.json: | $(VENV)/.installed
	$(PY) -m edgeloop.cli train --data data/ai4i2020-train.csv --out $(MODEL_DIR)

model: $(MODEL_DIR)/manifest.json

run: install model
	$(PY) -m localdev.run

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy edgeloop localdev scoring_app global_app functions function_app.py bench

pytest: install system-tools infra-tools notebook-tools model
	$(VENV)/bin/pytest -p no:cacheprovider

test: lint typecheck pytest

# The benchmark's peer server (BentoML) has a virtualenv of its own (pins: pyproject.toml extra bench-peer).
.venv-bench/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet $$($(PYTHON) tools/extra_requirements.py bench-peer)
	touch $@

# The load generator is wrk (Debian package).
bench: install model .venv-bench/.installed
	@command -v wrk >/dev/null || { \
	  echo "installing wrk (apt)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }
	$(PY) -m bench
	$(PY) -m bench.chart

clean:
	rm -rf $(VENV) $(INFRA_VENV) .venv-notebook .venv-bench node_modules var .mypy_cache .ruff_cache
