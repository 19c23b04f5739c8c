# Two commands from a fresh clone: `make run` (the whole local system) and `make test` (every test).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INFRA_VENV := .venv-infra
MODEL_DIR := var/models/demo
# The model `make run` serves: failure (the binary demo) | failure-mode (multiclass) | tool-life (regression).
EXAMPLE_MODEL ?= failure
EXAMPLE_MODELS := failure-mode tool-life
ifeq ($(filter $(EXAMPLE_MODEL),failure $(EXAMPLE_MODELS)),)
$(error EXAMPLE_MODEL=$(EXAMPLE_MODEL): must be one of failure $(EXAMPLE_MODELS))
endif
EXAMPLE_BUNDLE := $(if $(filter failure,$(EXAMPLE_MODEL)),$(MODEL_DIR),var/models/$(EXAMPLE_MODEL))

.PHONY: lock run test install node-tools system-tools infra-tools notebook-tools model example-models lint typecheck pytest bench clean schema

# Every virtualenv is installed from its lock (requirements/*.lock: every version, with hashes),
# made from pyproject.toml's pins by `make lock`. uv itself comes from PyPI with pip, hashes checked.
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
# A virtualenv with exactly its lock's packages: uv pip sync lists what it installs and removes.
# $(call synced,VENV,LOCK)
synced = $(PYTHON) tools/locks.py check && \
	echo "==> installing $(2) into $(1) ($$(grep -c '^[A-Za-z0-9].*==' $(2)) locked versions, hashes checked)" && \
	{ [ -x $(1)/bin/python ] || $(PYTHON) -m venv $(1); } && \
	$(UV) pip sync --require-hashes --python $(1)/bin/python $(2)

$(UV_VENV)/.installed: requirements/bootstrap.lock
	@echo "==> installing uv (requirements/bootstrap.lock) into $(UV_VENV)"
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet --require-hashes -r requirements/bootstrap.lock
	touch $@

$(VENV)/.installed: pyproject.toml requirements/dev.lock $(UV_VENV)/.installed
	@$(call synced,$(VENV),requirements/dev.lock)
	@echo "==> installing the project itself into $(VENV) (editable, no dependencies)"
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

# Regenerate every lock from pyproject.toml's pins (network: PyPI); commit the result.
lock: $(UV_VENV)/.installed
	$(PYTHON) tools/locks.py compile

node_modules/.installed: package.json package-lock.json
	@echo "==> installing Azurite and the other npm tools (package-lock.json) into node_modules"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node-tools

node-tools: node_modules/.installed

# GStreamer's RTSP server, run by the camera tests with the system Python (tests/support/rtsp_server.py).
RTSP_SERVER_PACKAGES := python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav

# Debian packages the tests drive: a real browser, kubectl (kustomize), promtool (package prometheus),
# ffmpeg and the RTSP server.
system-tools:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v kubectl >/dev/null || missing="$$missing kubectl"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	/usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" 2>/dev/null || \
	  missing="$$missing $(RTSP_SERVER_PACKAGES)"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing (apt)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# checkov pins old shared libraries, so it lives in a virtualenv of its own (pins: pyproject.toml).
$(INFRA_VENV)/.installed: requirements/infra.lock $(UV_VENV)/.installed
	@$(call synced,$(INFRA_VENV),requirements/infra.lock)
	touch $@

infra-tools: $(INFRA_VENV)/.installed

# powerbiclient imports pyspark and Jupyter widgets: the notebook gets a virtualenv of its own.
.venv-notebook/.installed: pyproject.toml requirements/notebook.lock $(UV_VENV)/.installed
	@$(call synced,.venv-notebook,requirements/notebook.lock)
	$(UV) pip install --quiet --python .venv-notebook/bin/python --no-deps -e .
	touch $@

notebook-tools: .venv-notebook/.installed

# Retrained when the training code or its data change (a stale bundle would keep serving the old model).
$(MODEL_DIR)/manifest.json: $(wildcard edgeloop/training/*.py) data/ai4i2020-train.csv | $(VENV)/.installed
	@echo "==> training the demo model into $(MODEL_DIR)"
	$(PY) -m edgeloop.cli train --data data/ai4i2020-train.csv --out $(MODEL_DIR)

# The example models' first bundles: each recipe (edgeloop/recipes/) trained on its base data (data/).
$(EXAMPLE_MODELS:%=var/models/%/manifest.json): var/models/%/manifest.json: | $(VENV)/.installed
	@echo "==> training the $* example model into var/models/$*"
	$(PY) -m tools.example_models $* --out var/models/$*

example-models: $(EXAMPLE_MODELS:%=var/models/%/manifest.json)

model: $(MODEL_DIR)/manifest.json $(EXAMPLE_BUNDLE)/manifest.json

run: install model
	@echo "==> starting the local system with the $(EXAMPLE_MODEL) model (python -m localdev.run; Ctrl-C stops it)"
	EDGELOOP_EXAMPLE_MODEL=$(EXAMPLE_MODEL) $(PY) -m localdev.run

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# docs/manifest.schema.json from the manifest's document model (a unit test checks it is current).
schema: $(VENV)/.installed
	$(PY) -m tools.manifest_schema

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy edgeloop localdev scoring_app global_app functions function_app.py bench tools

pytest: install system-tools infra-tools notebook-tools model
	$(VENV)/bin/pytest -p no:cacheprovider

test: lint typecheck pytest

# The benchmark's peer server (BentoML) has a virtualenv of its own (pins: pyproject.toml extra bench-peer).
.venv-bench/.installed: requirements/bench.lock $(UV_VENV)/.installed
	@$(call synced,.venv-bench,requirements/bench.lock)
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
	rm -rf $(VENV) $(UV_VENV) $(INFRA_VENV) .venv-notebook .venv-bench node_modules var .mypy_cache .ruff_cache
