# anobench: `make bench` runs the default suite, `make test` runs the tests.
# Both create .venv and install into it on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Never import the source folders from the working directory: only the installed package.
export PYTHONSAFEPATH := 1
export PYTHONDONTWRITEBYTECODE := 1
# Offline copies of public data sets, beside the project (see README).
export ANOBENCH_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: setup bench test test-slow lint clean lock

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/anobench run quick --jobs 2

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -n 2

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check bench detectors datasets tests
	$(BIN)/mypy bench detectors datasets

# Refresh the pinned versions after changing dependencies.
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) results/runs build *.egg-info .pytest_cache .ruff_cache .mypy_cache
