"""Run example DAGs with ``dag.test()`` against the emulator, through the provider's own pytest
plugin (``runs_dag_test``: a throw-away AIRFLOW_HOME and database, the default connections on
the emulator, the DAG serialized before it runs), as a user's project would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
os.environ.setdefault("EDGES_EXAMPLE_ROWS", "2000")  # the nightly example's file, smaller in tests


@pytest.fixture
def run_dag(runs_dag_test):
    """``run_dag(dag_id)``: run one of ``example_dags/`` and return its DAG run."""

    def run(dag_id: str):
        return runs_dag_test(EXAMPLE_DAGS, dag_id=dag_id).dag_run

    return run


@pytest.fixture(autouse=True)
def edges_example_dir(tmp_path, monkeypatch):
    """The Edges example's files go to this test's own directory, never a path shared with the
    demo or another test run (the example reads ``EDGES_EXAMPLE_DIR`` when its tasks run)."""
    directory = tmp_path / "edges-example"
    monkeypatch.setenv("EDGES_EXAMPLE_DIR", str(directory))
    return directory
