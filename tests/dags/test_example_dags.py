"""The example DAGs run end to end with ``dag.test()`` against the emulator."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from dag_runs import task_states, xcom_result

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"


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
    assert xcom_result(dag_run, "open_session", key="run_url").endswith(first["run_id"])


def test_batch_dag(run_dag, runs_emulator_env, capfd):
    dag_run = run_dag("example_inference_sh_batch")
    states = task_states(dag_run)
    assert states["summarize"] == "success", states
    assert sum(1 for k, v in states.items() if k.startswith("echo[") and v == "success") == 5
    summary = xcom_result(dag_run, "summarize")
    assert summary == {"count": 5, "texts": [f"document {i}" for i in range(1, 6)]}
    assert runs_emulator_env.control.counters()["inference_sh"]["tasks_created"] == 5
    assert_no_error_lines(capfd)  # reading the mapped results probes no XCom past the last


def test_inferable_daily_report(run_dag):
    dag_run = run_dag("example_inferable_daily_report")
    assert task_states(dag_run) == {"count_tickets": "success", "publish": "success"}
    report = xcom_result(dag_run, "count_tickets")["result"]
    assert set(report) == {"open_tickets", "oldest_ticket_id", "summary"}
    line = xcom_result(dag_run, "publish")
    assert line.startswith(f"{report['open_tickets']} open tickets")
    assert not re.search(r"\*\*\*|xxx", line), f"reads as redacted: {line}"


@pytest.mark.parametrize(("choice", "approved"), [("Approve", True), ("Deny", False)])
def test_inferable_approval_answered_in_airflow(run_dag, runs_emulator_env, choice, approved):
    pytest.importorskip("airflow.sdk.exceptions", reason="needs Airflow 3.3 awaiting_input")
    from airflow.sdk import exceptions

    if not hasattr(exceptions, "TaskAwaitingInput"):
        pytest.skip("human-in-the-loop without a triggerer needs Airflow 3.3")
    from airflow_provider_runs.testing.hitl import HumanInTheLoopResponder

    with HumanInTheLoopResponder(choice=choice) as human:
        dag_run = run_dag("example_inferable_approval")
    assert human.answered and "send_email" in human.answered[0]["subject"], human.errors
    assert task_states(dag_run) == {"notify_customer": "success"}
    assert runs_emulator_env.control.counters()["inferable"]["approvals"] == 1
    from airflow_provider_runs.hooks.inferable import InferableHook

    run_id = xcom_result(dag_run, "notify_customer", key="run_id")
    answer = "approvalGranted" if approved else "approvalDenied"
    assert InferableHook().list_events(run_id=run_id, type=answer), f"no {answer} event for {run_id}"


def test_edges_nightly_enrichment(run_dag, runs_emulator_env, edges_example_dir):
    dag_run = run_dag("example_edges_nightly_enrichment")
    states = task_states(dag_run)
    assert states == {"export_profiles": "success", "enrich_profiles": "success", "summarize": "success"}, (
        states
    )
    manifest = xcom_result(dag_run, "enrich_profiles")
    assert isinstance(manifest["succeeded_inputs"], int), manifest
    assert manifest["results"] >= manifest["succeeded_inputs"] > 0, manifest
    assert manifest["succeeded_inputs"] + manifest["failed_inputs"] == 2000
    # every file under this test's own directory
    exported = Path(xcom_result(dag_run, "export_profiles"))
    assert exported.parent == edges_example_dir and len(exported.read_text().splitlines()) == 2000
    assert Path(manifest["output_path"]).parent == edges_example_dir, manifest
    assert len(Path(manifest["output_path"]).read_text().splitlines()) == manifest["results"]


def test_edges_live_and_schedule(run_dag, runs_emulator_env, capfd):
    dag_run = run_dag("example_edges_live_and_schedule")
    assert task_states(dag_run) == {"lookup_one_profile": "success", "weekly_schedule": "success"}
    schedule_uid = xcom_result(dag_run, "weekly_schedule")["schedule_uid"]
    assert xcom_result(dag_run, "weekly_schedule", key="_link_RunLink").endswith(f"/schedules/{schedule_uid}")
    assert xcom_result(dag_run, "lookup_one_profile", key="_link_RunLink") == ""  # a live call: no run page
    assert_no_error_lines(capfd)


def assert_no_error_lines(capfd):
    """Nothing the run printed is an error-level log line (``[error`` from Airflow's structlog)."""
    out, err = capfd.readouterr()
    errors = [line for line in (out + err).splitlines() if re.search(r"\[error|\bERROR\b", line)]
    assert not errors, errors


def test_examples_import_what_airflow_3_users_write():
    """``from airflow.sdk import DAG, task``: no ``airflow.models`` or compatibility paths."""
    for path in sorted(EXAMPLE_DAGS.glob("*.py")):
        modules = {
            node.module
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("airflow.")
        }
        assert modules == {"airflow.sdk"}, (path.name, modules)
