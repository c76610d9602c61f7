# evalcliff — two commands on a fresh machine:
#   make report BASE=fp16 CAND=q4     (creates .venv on first use, then runs the gate)
#   make test
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BASE ?= fp16
CAND ?= q4
SUITE ?= smoke
CONFIG ?=
POLICY ?=
OUT ?= reports/$(BASE)-vs-$(CAND)
JOBS ?= 2
PYTEST_ARGS ?=

.PHONY: report test test-fast test-slow check clean help bench validate-stats wheel-check drift

help:
	@echo "make report BASE=fp16 CAND=q4 [SUITE=smoke CONFIG=variants.toml POLICY=policy.yaml]"
	@echo "make test | make test-slow (llama.cpp GGUF) | make check | make wheel-check | make clean"
	@echo "dev tools (evalcliff/dev, not in the wheel): make bench | make validate-stats"
	@echo "make drift [DRIFT_LIMIT=20]: weekly drift review demo (fp16 -> q4 -> q2 history)"

# torch is installed first and pinned to the CPU build: the package metadata only states a
# range (torch>=2.6), and an unpinned torch with none installed pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

report: $(VENV)/.installed
	$(VENV)/bin/evalcliff report --base $(BASE) --cand $(CAND) --suite $(SUITE) --out $(OUT) \
		--jobs $(JOBS) $(if $(CONFIG),--config $(CONFIG)) $(if $(POLICY),--policy $(POLICY)) \
		$(if $(SEQ),--sequential $(SEQ))

test: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(PY) -m pytest -q $(PYTEST_ARGS)

# llama.cpp (llama-cpp-python, built from source: ~9 min on 2 cores), for the GGUF tests
$(VENV)/.installed-gguf: $(VENV)/.installed
	CMAKE_ARGS="-DLLAVA_BUILD=OFF" $(PY) -m pip install -q -e '.[gguf,dev]'
	touch $@

# The GGUF F16 vs Q4_K_M tests against real llama.cpp servers (skipped by `make test`
# when llama.cpp is not installed).
test-slow: $(VENV)/.installed-gguf
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m llamacpp $(PYTEST_ARGS)

test-fast: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

check: $(VENV)/.installed
	$(VENV)/bin/ruff check evalcliff tests
	$(VENV)/bin/mypy evalcliff

# The wheel as a user gets it: build, inspect, install into a fresh venv (CPU torch first),
# then `suites show tail` and a limited report from another directory (.ci/wheel-check).
wheel-check: $(VENV)/.installed
	BUILD_PY=$(PY) PYTHON=$(PYTHON) bash .ci/wheel-check

# Dev tools live in evalcliff/dev (a clone's editable install; not in the wheel).
# Harness overhead vs a bare transformers loop, KL pass, cached rerun, bootstrap vs scipy,
# paired vs unpaired items, report render -> reports/bench.{json,md}. Quick (a few minutes)
# by default; FULL=1 times the whole smoke suite.
bench: $(VENV)/.installed
	OMP_NUM_THREADS=1 $(PY) -m evalcliff.dev.bench $(if $(FULL),--full)

# Simulation study of the CIs and the gate -> reports/stats-validation.{md,json} + power figure
validate-stats: $(VENV)/.installed
	$(PY) -m evalcliff.dev.validation

# The weekly drift review on the embedded default: fp16, q4 and q2 recorded as nine weekly
# runs of one served name whose weights silently change; about 5 min on 2 cores.
# -> reports/drift-demo/drift.{json,html,prom} + history.db
DRIFT_LIMIT ?= 20
drift: $(VENV)/.installed
	$(PY) -m evalcliff.dev.drift_demo --out reports/drift-demo --limit $(DRIFT_LIMIT)

clean:
	rm -rf .evalcliff reports/runs reports/*-vs-* reports/drift-demo reports/drift
