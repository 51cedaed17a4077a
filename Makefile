# Two commands for a newcomer: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: install demo test test-fast bench clean

install: $(INSTALLED)

# Re-install whenever a requirements file changes.
$(INSTALLED): requirements.txt requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $(INSTALLED)

demo: install
	$(PY) app.py $(ARGS)

test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

# The fast tier for development: math, views and the API on tiny models; no browser, no SmolLM2 (`conftest.py`).
test-fast: install
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -m "not slow" -q

bench: install
	$(PY) -m bench.bench_imports
	$(PY) -m bench.bench_bigram
	$(PY) -m bench.bench_transformer
	$(PY) -m bench.bench_load
	$(PY) -m bench.bench_alone
	$(PY) -m bench.bench_api
	$(PY) -m bench.bench_gil
	$(PY) -m bench.bench_merged_passes
	$(PY) -m bench.bench_rows
	$(PY) -m bench.bench_browser --baseline 91ce7e4
	$(PY) -m bench.bench_serving
	$(PY) -m bench.bench_soak --minutes 5 --name soak_one_user
	$(PY) -m bench.bench_abuse_soak --minutes 3
	$(PY) -m bench.bench_evaluate --words 500 --name evaluate_speed_500

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
