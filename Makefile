# airflow-provider-runs: make demo | make test | make e2e | make bench
# Needs only Python 3.11, make and git: every target bootstraps its own virtualenv from the
# committed constraints (the versions that were tested).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
VENV := .venv
VENV31 := .venv-3.1
VENVB := .venv-bench
UV := $(VENV)/bin/uv
PY := $(VENV)/bin/python
PY31 := $(VENV31)/bin/python
export UV_LINK_MODE := copy
# pytest-xdist workers for make test (the suites wait on emulated runs more than they compute;
# `--dist load`: `loadfile` would run only one of the fuzz tests that share a node id). 0: no workers.
PYTEST_WORKERS ?= 3
XDIST := -n $(PYTEST_WORKERS) --dist load

.PHONY: all venv venv-3.1 venv-bench lint typecheck format test test-3.3 test-3.1 test-user-project e2e e2e-deps e2e-distributed soak demo bench package clean

all: test

$(VENV)/.installed: pyproject.toml constraints/airflow-3.3.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) pip install --quiet -p $(PY) -c constraints/airflow-3.3.txt -e . \
		--group pyproject.toml:test --group pyproject.toml:e2e --group pyproject.toml:package \
		--group pyproject.toml:lineage
	touch $@

$(VENV31)/.installed: $(VENV)/.installed pyproject.toml constraints/airflow-3.1.txt
	$(UV) venv --quiet --allow-existing -p $(PYTHON) $(VENV31)
	$(UV) pip install --quiet -p $(PY31) -c constraints/airflow-3.1.txt -e . --group pyproject.toml:test \
		--group pyproject.toml:lineage
	touch $@

# The benchmark environment adds apache-airflow-providers-http (the peer measured against).
$(VENVB)/.installed: $(VENV)/.installed pyproject.toml constraints/bench.txt
	$(UV) venv --quiet --allow-existing -p $(PYTHON) $(VENVB)
	$(UV) pip install --quiet -p $(VENVB)/bin/python -c constraints/bench.txt -e . --group pyproject.toml:test \
		apache-airflow-providers-http
	touch $@

venv: $(VENV)/.installed
venv-3.1: $(VENV31)/.installed
venv-bench: $(VENVB)/.installed

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# mypy: the package and the toy service (tests/toy_service) checked, core/ strict.
typecheck: venv
	$(PY) -m mypy airflow_provider_runs tests/toy_service
	$(PY) -m mypy --strict airflow_provider_runs/core

# Lint and types, everything but the end-to-end suite on the newest Airflow (a plain
# `pytest tests` skips it too), then unit and DAG tests on 3.1, then the package check.
test: lint typecheck test-3.3 test-3.1 test-user-project package

test-3.3: venv
	$(PY) -m pytest tests --ignore=tests/e2e -q $(XDIST)

test-3.1: venv-3.1
	$(PY31) -m pytest tests/unit tests/dags -q $(XDIST)

# The README's example of testing your own DAGs, run as a user's project runs it: examples/user_project
# copied to a directory outside the repository (no conftest.py or pytest settings of ours), on 3.3 and 3.1.
test-user-project: venv venv-3.1
	@for py in $(abspath $(PY)) $(abspath $(PY31)); do \
		dir=$$(mktemp -d) && cp -R examples/user_project/. $$dir && echo "$$py -m pytest in $$dir" && \
		(cd $$dir && env -u AIRFLOW_HOME $$py -m pytest -p no:cacheprovider -v); status=$$?; \
		rm -rf $$dir; [ $$status -eq 0 ] || exit $$status; \
	done

# The published artifacts: sdist and wheel built into dist/, `twine check`, then the wheel alone
# (no extras) in a clean virtualenv with the 3.3 constraints runs the README's quick start.
package: venv
	$(PY) scripts/check_package.py

# End to end on real Airflow processes (API server, scheduler, DAG processor, triggerer) and
# headless Chromium; logs and screenshots in .e2e/. Fails if any process it started survives.
e2e-deps:
	scripts/install_e2e_deps.sh

e2e: venv e2e-deps
	@status=0; $(PY) -m pytest tests/e2e --e2e -q -rA --durations=8 || status=$$?; \
		$(PY) tests/e2e/leftovers.py || status=1; exit $$status

# The same stack beyond one machine: Redis, the CeleryExecutor with two Celery workers and two
# triggerers; 300 mapped tasks, a triggerer and a worker SIGKILLed, the request budget, a user's
# mark-failed. Figures in .e2e-distributed/results.json (and a table at the end).
e2e-distributed: venv e2e-deps
	@status=0; $(PY) -m pytest tests/e2e_distributed --e2e -q -rA --durations=8 || status=$$?; \
		$(PY) tests/e2e/leftovers.py .e2e-distributed || status=1; exit $$status

# 1,000 runs across the three services under injected faults; figures in .soak/soak.json.
soak: venv
	$(PY) tests/soak/driver.py --runs 1000 --json .soak/soak.json

demo: venv
	$(PY) scripts/demo.py

# Benchmarks: results in benchmarks/results/*.json and printed tables (not part of make test).
bench: venv-bench
	$(VENVB)/bin/python benchmarks/triggerer_scale.py --repeat 3 --duration 25 --spread 5
	$(VENVB)/bin/python benchmarks/sync_overhead.py
	$(VENVB)/bin/python benchmarks/edges_batch.py
	$(VENVB)/bin/python benchmarks/budget_scale.py
	$(VENVB)/bin/python benchmarks/import_cost.py

clean:
	rm -rf $(VENV) $(VENV31) $(VENVB) .pytest_cache .ruff_cache .hypothesis .demo .e2e .e2e-distributed .soak
