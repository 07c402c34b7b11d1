"""Run example DAGs with ``dag.test()`` against the emulator, in a migrated temporary AIRFLOW_HOME.

Connections to the emulator: the provider's pytest plugin (``runs_emulator_env``); DAG runs are read
with :mod:`dag_runs`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dag_runs import dagbag_api

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
os.environ.setdefault("EDGES_EXAMPLE_ROWS", "2000")  # the nightly example's file, smaller in tests


@pytest.fixture(scope="session")
def airflow_db():
    """Migrate the metadata DB of this test session's AIRFLOW_HOME once."""
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS)}
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return True


@pytest.fixture(scope="session")
def example_dagbag(airflow_db):
    """Every example DAG, parsed and serialized so that ``dag.test()`` can run it."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBag, sync_bag_to_db = dagbag_api()
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    return bag


@pytest.fixture(autouse=True)
def edges_example_dir(tmp_path, monkeypatch):
    """The Edges example's files go to this test's own directory, never a path shared with the
    demo or another test run (the example reads ``EDGES_EXAMPLE_DIR`` when its tasks run)."""
    directory = tmp_path / "edges-example"
    monkeypatch.setenv("EDGES_EXAMPLE_DIR", str(directory))
    return directory
