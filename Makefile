# Sparkify warehouse: every target sets up what it needs (virtual environment in .venv, Jupyter kernel).
# `make help` lists the targets.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
KERNEL := sparkify
export PLOOMBER_STATS_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help run test lab lint generate status stop bench clean install install-dev

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (sparkify)" >/dev/null
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## create .venv, install the project and register its Jupyter kernel

install-dev: $(VENV)/.installed-dev ## install, plus the test and lint tools

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
