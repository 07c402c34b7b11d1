"""Run example DAGs with ``dag.test()`` against the emulator, in a migrated temporary AIRFLOW_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def _dagbag_api():
    try:  # Airflow 3.2+
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag, sync_bag_to_db
    return DagBag, sync_bag_to_db


@pytest.fixture(scope="session")
def example_dagbag(airflow_db):
    """Every example DAG, parsed and serialized so that ``dag.test()`` can run it."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBag, sync_bag_to_db = _dagbag_api()
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


@pytest.fixture
def emulator_connections(runs_emulator, monkeypatch):
    """Point every default connection at the emulator (env vars: no DB rows needed)."""
    for key, value in runs_emulator.connection_env().items():
        monkeypatch.setenv(key, value)
    return runs_emulator


def task_states(dag_run) -> dict[str, str]:
    """``{task_id[map_index]: state}`` of a finished DAG run."""
    states = {}
    for ti in dag_run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        states[key] = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
    return states


def xcom_result(dag_run, task_id: str, map_index: int = -1, key: str = "return_value"):
    """The value a task pushed under ``key`` in this DAG run (``None`` when absent)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(
            run_id=dag_run.run_id, key=key, task_ids=task_id, dag_ids=dag_run.dag_id, map_indexes=map_index
        )
        row = session.scalars(query).first()
        return None if row is None else XComModel.deserialize_value(row)
