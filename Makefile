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
# Published results to compare against (PyOD's ODDS benchmark tables).
export ANOBENCH_REFERENCE_DIR ?= $(abspath ../shared/reference)

.PHONY: setup bench test test-faults test-slow lint check baseline catalog clean lock

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/anobench run quick --jobs 2

# Debian's chromium for the test that renders the HTML report; installed when we may
# (root with apt-get), otherwise that one test is skipped with the reason.
BROWSER_STAMP := $(VENV)/.browser

$(BROWSER_STAMP): $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (apt-get) for the HTML report test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	      >/dev/null 2>&1 || echo "note: could not install chromium: the browser test will skip"; \
	  else echo "note: no chromium and not root: the browser test will skip"; fi; }
	touch $@

# The default tests (at most 8 minutes on 2 cores; --durations says where the time goes).
test: $(STAMP) $(BROWSER_STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not faults" -n 2 --durations=15

# Fault injection: kills at random moments, a killed run resumed, concurrent runs, a full
# disk, misbehaving detectors and data sets (serial: the scenarios time themselves).
test-faults: $(STAMP)
	$(BIN)/python -m pytest -q -m faults

# The slower end-to-end checks: shards, Dask, an installed plugin, the page in Chromium.
test-slow: $(STAMP) $(BROWSER_STAMP)
	$(BIN)/python -m pytest -q -m slow -n 2

# The regression gate: rerun the `ci` suite and compare with its committed baseline.
check: $(STAMP)
	$(BIN)/anobench run ci --jobs 2 --out results/runs/ci --force --quiet
	$(BIN)/anobench check results/runs/ci --baseline results/reference/ci.json

# Refresh the committed baseline after an intended change of results (review the diff).
baseline: $(STAMP)
	$(BIN)/anobench run ci --jobs 2 --out results/runs/ci --force --quiet
	$(BIN)/anobench baseline results/runs/ci --out results/reference/ci.json

# mypy twice: over the source folders, then over the package as it is imported (bench/ as
# anobench/ with its plugin packages, linked under build/), so types cross module boundaries
# (the built-in plugins' own errors are the first run's: pyproject.toml)
TYPECHECK := build/typecheck
lint: $(STAMP)
	$(BIN)/ruff check bench detectors datasets tests
	$(BIN)/mypy bench detectors datasets
	@rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/anobench
	@for f in bench/*; do ln -s ../../../$$f $(TYPECHECK)/anobench/; done
	@ln -s ../../../detectors ../../../datasets $(TYPECHECK)/anobench/
	cd $(TYPECHECK) && $(abspath $(BIN))/mypy --config-file $(abspath pyproject.toml) -p anobench

# Rewrite bench/cli/catalog.json (what `anobench list` shows without importing the built-ins)
# after adding or renaming a built-in detector or data set; a test fails until you do.
catalog: $(STAMP)
	$(BIN)/python -m anobench.cli.catalog

# Refresh the pinned versions after changing dependencies.
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) results/runs build *.egg-info .pytest_cache .ruff_cache .mypy_cache
