"""The day-two example DAG runs end to end with ``dag.test()`` against the emulator."""

from __future__ import annotations

from dag_runs import task_states, xcom_result


def test_day_two_dag(run_dag, runs_emulator_env):
    dag_run = run_dag("example_day_two")
    states = task_states(dag_run)
    failed = {k: v for k, v in states.items() if v != "success"}
    assert not failed, sorted(states.items())
    assert sum(1 for k in states if k.startswith("cancel_each[")) == 3, states

    listed = xcom_result(dag_run, "list_running")
    assert len(listed) == 3 and all(isinstance(i, str) for i in listed)
    counters = runs_emulator_env.control.counters()
    assert counters["inference_sh"]["cancels"] == 3

    summary = xcom_result(dag_run, "report")
    assert summary["cancelled"] == ["cancelled"] * 3
    assert summary["edges_runs_to_rerun"] == []

    ended = xcom_result(dag_run, "end_session")
    assert ended["outcome"] == "ended" and ended["status"] == "ended"

    approved = xcom_result(dag_run, "approve_send_email")
    assert approved.get("outcome") == "approved" and approved["state"] == "SUCCEEDED", approved
    assert counters["inferable"]["approvals"] == 1
    follow_up = xcom_result(dag_run, "follow_up")
    assert follow_up["outcome"] == "sent" and follow_up["reply"], follow_up
    assert counters["inferable"]["messages_added"] == 1
    assert approved["run_id"] in summary["agent_runs_done"]
    assert xcom_result(dag_run, "follow_up", key="run_url").endswith(approved["run_id"])
