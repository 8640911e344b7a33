# The two commands of the README: `make demo` and `make test`.  Both create .venv when it
# is missing and install the package with its pinned dependencies first: `make demo` what
# the package needs to run, `make test` the dev and docs extras as well (pytest, ruff, build,
# mkdocs).  Each install has its stamp; installing the extras installs the runtime too, so it
# touches both.
PYTHON ?= python3
VENV ?= .venv
DOCS_SITE ?= build/site
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: install bytecode demo test lint typecheck docs test-fast test-slow bench dist clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): setup.cfg pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -e . -c constraints.txt
	touch $@

$(DEV): setup.cfg pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev,docs]' -c constraints.txt
	touch $@ $(RUNTIME)

install: $(DEV)

# Our modules' bytecode, written ahead: where the environment sets PYTHONDONTWRITEBYTECODE
# (this project's machines do), Python never caches it itself, so every process that imports
# snas and harness -- the CLI, each Ray worker and trial process -- compiled them from source
# again (about one CPU-second each; a data-parallel ASHA test took 186 CPU-s instead of 207).
# compileall skips what is up to date; an edited module is compiled at import, as before.
bytecode: $(RUNTIME)
	$(BIN)/python -m compileall -q snas harness tests bench

# The quickstart study end to end: 8 tiny SNAS searches on the bundled digits data, ASHA,
# then the tables, plots, best genotype and report.html under results/quickstart/.
demo: bytecode
	$(BIN)/snas-study run studies/quickstart.yaml --overwrite
	@echo
	@echo "plots:         results/quickstart/plots/"
	@echo "best genotype: results/quickstart/analysis/best.json  (or: $(BIN)/snas-study best results/quickstart)"
	@echo "report:        results/quickstart/report.html"

lint: install
	$(BIN)/ruff check snas harness tests bench docs

# The documentation site (mkdocs.yml, docs/) into build/site.  --strict turns every warning into
# a failure: a broken link or anchor, a page missing from the nav, a docstring mkdocstrings
# cannot parse.  The CLI and study-file references are generated from the code at each build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean -d $(DOCS_SITE)

# mypy over snas/ and harness/ (the settings are in setup.cfg's [mypy] sections).
typecheck: install
	$(BIN)/mypy

# pytest exits 5 when it selects no tests; make treats that as the failure it is (pytest-xdist
# keeps that exit code).  The fast tests are independent, so two xdist workers share the cores
# (2:23 instead of 3:30 on a 2-core machine).
test-fast: install bytecode
	$(BIN)/python -m pytest -m "not slow" -n 2

# The slow tests spend most of their time waiting on Ray (starts, restarts, checkpoints):
# two xdist workers, each with its own Ray instance, take whole files (--dist loadfile) in collection
# order (--no-loadscope-reorder: xdist would hand out the files with most tests first; tests/conftest.py
# collects the costliest files first instead).
test-slow: install bytecode
	$(BIN)/python -m pytest -m slow -n 2 --dist loadfile --no-loadscope-reorder --durations=20

test: lint typecheck docs test-fast test-slow

# Benchmarks against baselines measured in the same run; writes results/bench/<date>.json.
bench: install bytecode
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info build dist
	find snas harness tests bench -name __pycache__ -prune -exec rm -rf {} +
