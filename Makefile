# The two commands of the README: `make demo` and `make test`.  Both create .venv when it
# is missing and install the package with its pinned dependencies first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test lint test-fast test-slow bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): setup.cfg pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]' -c constraints.txt
	touch $@

install: $(INSTALLED)

demo: install
	$(BIN)/snas-study search --dataset digits --epochs 5 --layers 5 --init-channels 8 --method snas \
		--seed 0 --out results/demo-search --overwrite

lint: install
	$(BIN)/ruff check snas harness tests bench

# pytest exits 5 when it selects no tests; make treats that as the failure it is.
test-fast: install
	$(BIN)/python -m pytest -m "not slow"

test-slow: install
	$(BIN)/python -m pytest -m slow

test: lint test-fast test-slow

# Benchmarks against baselines measured in the same run; writes results/bench/<date>.json.
bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
