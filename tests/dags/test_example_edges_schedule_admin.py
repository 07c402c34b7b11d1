"""The Edges schedule-administration examples run end to end with ``dag.test()`` against the emulator."""

from __future__ import annotations

import threading

import pytest
from dag_runs import task_states, xcom_result

from airflow_provider_runs.hooks.edges import EdgesHook


@pytest.fixture
def cron_ticks(runs_emulator_env, monkeypatch):
    """The emulator's clock moves 16 minutes every 0.3 s while the DAG runs (a cron tick each time):
    the sensor's "next run" comes within a poll."""
    monkeypatch.setenv("EDGES_EXAMPLE_POLL", "0.5")
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.3):
            runs_emulator_env.control.advance(16 * 60)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    yield runs_emulator_env
    stop.set()
    thread.join(5)


def test_schedule_admin(run_dag, cron_ticks):
    dag_run = run_dag("example_edges_schedule_admin")
    assert task_states(dag_run) == {
        "upsert_schedule": "success",
        "pause_for_maintenance": "success",
        "resume_after_maintenance": "success",
        "wait_for_next_run": "success",
        "sync_connections": "success",
        "fetch_new_connections": "success",
    }
    schedule = xcom_result(dag_run, "upsert_schedule")
    assert schedule["outcome"] == "created" and schedule["name"].startswith("lead contacts refresh #")
    assert xcom_result(dag_run, "upsert_schedule", key="_link_RunLink").endswith(
        f"/schedules/{schedule['schedule_uid']}"
    )
    assert xcom_result(dag_run, "pause_for_maintenance")["schedules"][0]["status"] == "PAUSED"
    assert xcom_result(dag_run, "resume_after_maintenance")["schedules"][0]["status"] == "ACTIVE"
    next_run = xcom_result(dag_run, "wait_for_next_run")
    assert next_run["schedule_uid"] == schedule["schedule_uid"] and next_run["status"] == "SUCCEEDED"
    assert EdgesHook().get_run(next_run["run_uid"])["scheduled_run_uid"] == schedule["schedule_uid"]
    continued = xcom_result(dag_run, "fetch_new_connections")
    assert continued["status"] == "SUCCEEDED", continued
    assert continued["run_uid"] == xcom_result(dag_run, "sync_connections")["run_uid"]
    counters = cron_ticks.control.counters()["edges"]
    assert (
        counters["schedules_created"] == 1
        and counters["schedules_pause"] == counters["schedules_resume"] == 1
    )

    retired = run_dag("example_edges_schedule_retire")
    assert task_states(retired) == {"cancel_schedule": "success"}
    assert EdgesHook().get_schedule(schedule["schedule_uid"])["status"] == "CANCELLED"
