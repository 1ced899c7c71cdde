# fc-finetune: every target sets itself up first, so each works as the first command
# on a fresh clone. `make help` lists them.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV   ?= .venv
LATEST ?= .venv-latest
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.fc-finetune-installed
export OMP_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export HF_HUB_DISABLE_TELEMETRY ?= 1
NO_PYTHON := no python3 on PATH: install Python 3.11 (e.g. apt-get install python3.11 python3.11-venv), or run make PYTHON=/path/to/python3.11

.PHONY: help setup test test-slow test-latest lock demo lint bench clean

help:
	@echo "make setup        create $(VENV) with the exact tested versions in requirements/lock.txt (idempotent)"
	@echo "make test         the fast offline test suite (tiny in-process models)"
	@echo "make test-slow    the slow tests (real SmolLM2; fetched into the cache on first use)"
	@echo "make test-latest  the fast suite in $(LATEST), built from the newest releases pyproject allows"
	@echo "make lock         test-latest, then freeze $(LATEST) into requirements/lock.txt"
	@echo "make demo         fetch SmolLM2-135M-Instruct and run the main job on CPU"
	@echo "make lint         ruff"
	@echo "make bench        benchmarks (installs the [bench] extra at the lock's versions)"

setup: $(STAMP)

# scripts/venv.py installs torch before anything that depends on it (here a local CPU wheel;
# letting pip pick it as a dependency would pull a multi-GB CUDA build), then the lock, then
# xgrammar without triton. pip's output goes to $(VENV)/setup.log; a failure is one line.
$(STAMP): pyproject.toml requirements/lock.txt scripts/venv.py Makefile
	@test -n "$(PYTHON)" || { echo "setup error: $(NO_PYTHON)" >&2; exit 1; }
	@$(PYTHON) scripts/venv.py setup --venv $(VENV)
	@touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

demo: setup
	OMP_NUM_THREADS=$${DEMO_THREADS:-$$(nproc --all)} $(BIN)/fc-finetune demo

lint: setup
	$(BIN)/ruff check .

bench: setup
	@$(PYTHON) scripts/venv.py setup --venv $(VENV) --extras dev,bench
	OMP_NUM_THREADS=$$(nproc --all) $(BIN)/python benchmarks/run.py

# Run before raising an upper bound in pyproject, and regularly: it shows what the next
# releases break before a new user meets it. The locked .venv is not touched.
test-latest:
	@test -n "$(PYTHON)" || { echo "setup error: $(NO_PYTHON)" >&2; exit 1; }
	@$(PYTHON) scripts/venv.py latest --venv $(LATEST)
	FC_FINETUNE_TEST_LATEST=1 $(LATEST)/bin/python -m pytest -q

lock: test-latest
	@$(PYTHON) scripts/venv.py lock --venv $(LATEST)

clean:
	rm -rf $(VENV) $(LATEST) build src/*.egg-info .pytest_cache .ruff_cache
