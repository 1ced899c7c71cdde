# fc-finetune: every target sets itself up first, so each works as the first command
# on a fresh clone. `make help` lists them.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
TORCH_SPEC ?= torch==2.13.0
# xgrammar (schema-constrained argument decoding, fc_finetune.constrained) is installed
# with --no-deps: its Linux wheel declares `triton` (~290 MB of GPU kernels) that the
# CPU path never imports. Its other runtime requirements are listed here (torch,
# transformers and numpy come from the main dependencies). `pip check` reports the
# missing triton; that is expected. Not in pyproject's dependencies for the same reason.
XGRAMMAR_SPEC ?= xgrammar==0.2.8
XGRAMMAR_REQS ?= apache-tvm-ffi>=0.1.11,<0.2 pydantic>=2,<3 typing-extensions>=4.9,<5
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.fc-finetune-installed
export OMP_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export HF_HUB_DISABLE_TELEMETRY ?= 1

.PHONY: help setup test test-slow demo lint bench clean

help:
	@echo "make setup      create $(VENV): $(TORCH_SPEC) first, then fc-finetune[dev], then $(XGRAMMAR_SPEC) without triton (idempotent)"
	@echo "make test       the fast offline test suite (tiny in-process models)"
	@echo "make test-slow  the slow tests (real SmolLM2; fetched into the cache on first use)"
	@echo "make demo       fetch SmolLM2-135M-Instruct and run the main job on CPU"
	@echo "make lint       ruff"
	@echo "make bench      benchmarks (installs the [bench] extra)"

setup: $(STAMP)

# torch goes in before anything that depends on it: here it is a local CPU wheel, and
# letting pip pick it as a dependency would pull a multi-GB CUDA build instead.
$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is needed, got " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(foreach r,$(XGRAMMAR_REQS),"$(r)")
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps "$(XGRAMMAR_SPEC)"
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

demo: setup
	OMP_NUM_THREADS=$${DEMO_THREADS:-$$(nproc --all)} $(BIN)/fc-finetune demo

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	OMP_NUM_THREADS=$$(nproc --all) $(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache
