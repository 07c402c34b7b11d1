"""The example DAGs run end to end with ``dag.test()`` against the emulator."""

from __future__ import annotations

import pytest
from conftest import task_states, xcom_result


@pytest.fixture
def run_dag(example_dagbag, emulator_connections):
    def run(dag_id: str):
        dag_run = example_dagbag.dags[dag_id].test()
        return dag_run

    return run


def test_session_dag(run_dag):
    dag_run = run_dag("example_inference_sh_session")
    states = task_states(dag_run)
    assert states == {
        "open_session": "success",
        "continue_session": "success",
        "watch_first_task": "success",
        "report": "success",
    }, states
    first = xcom_result(dag_run, "open_session")
    second = xcom_result(dag_run, "continue_session")
    assert first["session_id"] and second["session_id"] == first["session_id"]
    assert first["output"]["count"] == 1 and second["output"]["count"] == 2
    assert xcom_result(dag_run, "open_session", key="run_url").endswith(first["task_id"])


def test_batch_dag(run_dag, emulator_connections):
    dag_run = run_dag("example_inference_sh_batch")
    states = task_states(dag_run)
    assert states["summarize"] == "success", states
    assert sum(1 for k, v in states.items() if k.startswith("echo[") and v == "success") == 5
    summary = xcom_result(dag_run, "summarize")
    assert summary == {"count": 5, "texts": [f"document {i}" for i in range(1, 6)]}
    assert emulator_connections.control.counters()["inference_sh"]["tasks_created"] == 5
