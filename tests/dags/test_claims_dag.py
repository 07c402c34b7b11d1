"""Claims through real XComs under ``dag.test()`` (Airflow 3.3 and 3.1): two mapped task
instances with identical input; map 1's create gets a 503 before the service takes it. Map 1
reads map 0's claim (an XCom of another map index) and creates its own task instead of
adopting map 0's."""

from __future__ import annotations

from datetime import datetime

import pytest
from dag_runs import serialize_dag, task_states, xcom_result

from airflow_provider_runs.operators.claims import CLAIM_XCOM_KEY

CONTROL = {}


def arm_create_fault(context):
    """Before map 1 runs: its create call gets a 503 the service never processed."""
    if context["ti"].map_index == 1:
        fault = {"service": "inference_sh", "method": "POST", "path_regex": "/run$", "kind": "status"}
        CONTROL["server"].control.add_faults([{**fault, "count": 1}])


@pytest.fixture
def claims_dag(runs_airflow_db, runs_emulator_env):
    from airflow.sdk import DAG

    from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

    with DAG("runs_claims_test", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        InferenceShTaskOperator.partial(
            task_id="echo", app="acme/echo@v1", poll_interval=0.1, on_execute_callback=arm_create_fault
        ).expand(input=[{"text": "same"}, {"text": "same"}])
    serialize_dag(dag)
    CONTROL["server"] = runs_emulator_env
    yield dag
    CONTROL.clear()


def test_map_1_does_not_adopt_map_0s_task(claims_dag, runs_emulator_env):
    dag_run = claims_dag.test()
    assert task_states(dag_run) == {"echo[0]": "success", "echo[1]": "success"}
    first, second = xcom_result(dag_run, "echo", 0), xcom_result(dag_run, "echo", 1)
    assert first["task_id"] != second["task_id"]
    assert first["output"]["text"] == second["output"]["text"] == "same"
    counters = runs_emulator_env.control.counters()
    assert counters["inference_sh"]["tasks_created"] == 2
    assert counters["faults_injected"]["503"] == 1  # map 1's create really failed once
    claim = xcom_result(dag_run, "echo", 1, key=CLAIM_XCOM_KEY)
    assert claim["run_id"] == second["task_id"] and claim["map_index"] == 1
