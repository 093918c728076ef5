# Sparkify warehouse: every target sets up what it needs (virtual environment in .venv, Jupyter kernel).
# `make help` lists the targets.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
KERNEL := sparkify
# Installs are reproducible: the pinned versions of the lock files first, then the project itself (--no-deps).
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
UV       ?= uv
UPGRADE  ?=
LOCK_FLAGS := --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock"
export PLOOMBER_STATS_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help run test lab lint generate status stop bench clean install install-dev lock

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (sparkify)" >/dev/null
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(DEV_LOCK) $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r $(DEV_LOCK)
	touch $@

install: $(VENV)/.installed ## create .venv, install the project and register its Jupyter kernel

install-dev: $(VENV)/.installed-dev ## install, plus the test and lint tools

# The runtime lock is resolved with the dev lock's pins as preferences, so the two agree on every shared package.
# Existing pins are kept (uv prefers them): `make lock UPGRADE=--upgrade` moves to the newest allowed versions.
lock: ## re-resolve requirements.lock and requirements-dev.lock from pyproject.toml (needs uv: pip install uv)
	$(UV) pip compile pyproject.toml --extra dev --extra bench $(LOCK_FLAGS) $(UPGRADE) --quiet -o $(DEV_LOCK)
	cp $(DEV_LOCK) $(LOCK)
	$(UV) pip compile pyproject.toml $(LOCK_FLAGS) --quiet -o $(LOCK)

run: $(VENV)/.installed ## run every notebook on the local default (sample data) and export HTML reports to reports/
	$(BIN)/sparkify run

test: $(VENV)/.installed-dev ## run the whole test suite (starts its own PostgreSQL, moto server and Chromium)
	$(BIN)/python -m pytest

lab: $(VENV)/.installed ## open JupyterLab on notebooks/ with the project's kernel
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root,) notebooks/

lint: $(VENV)/.installed-dev ## ruff on Python, sqlfluff (redshift dialect) on sql/
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint sql/

generate: $(VENV)/.installed ## write the demo sample data lake to data/sample/
	$(BIN)/sparkify generate

status: $(VENV)/.installed ## say whether the warehouse runs, where, and what its tables hold
	$(BIN)/sparkify status

stop: $(VENV)/.installed ## stop the local warehouse
	$(BIN)/sparkify stop

bench: $(VENV)/.installed-dev ## run the benchmarks in bench/ (minutes; prints ratios against references)
	$(BIN)/python bench/run_all.py

clean: ## stop the local warehouse and delete it, sample data and reports (keeps .venv)
	-test -x $(BIN)/sparkify && $(BIN)/sparkify stop
	rm -rf .warehouse data reports/*/ reports/index.html reports/latest
