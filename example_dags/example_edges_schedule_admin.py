"""Edges day-two operations: keep a schedule in step with the DAG, pause and resume it around a
maintenance window, follow its next run; continue an incremental sync; retire the schedule.

``example_edges_schedule_admin`` (run it whenever the definition changes, or on its own schedule):

1. ``upsert_schedule`` creates the schedule "lead contacts refresh" or, when its definition
   changed, replaces it (Edges has no update call); an unchanged definition is left as it is, so
   a retry or the next DAG run creates nothing.
2. ``pause_for_maintenance`` / ``resume_after_maintenance`` pause and resume it (by name, then by
   uid); pausing a paused schedule is a success.
3. ``wait_for_next_run`` waits in the triggerer for the schedule's next run, then for that run.
4. ``sync_connections`` runs an incremental extraction, and ``fetch_new_connections`` continues
   it (same run uid, the next items); a retry never continues it twice.

``example_edges_schedule_retire`` cancels the schedule (a cancelled one stays a success).

Connection ``edges_default`` (type ``edges``), as in ``example_edges.py``. The sensor polls every
``$EDGES_EXAMPLE_POLL`` seconds (default 60).
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.edges_run_actions import EdgesRunActionOperator
from airflow_provider_runs.operators.edges_schedules import EdgesScheduleActionOperator, EdgesScheduleOperator
from airflow_provider_runs.sensors.edges_schedule import EdgesScheduleRunSensor

SCHEDULE_NAME = "lead contacts refresh"
LEADS = [
    {"linkedin_profile_url": "https://www.linkedin.com/in/jdoe", "custom_data": {"crm_id": "42"}},
    {"linkedin_profile_url": "https://www.linkedin.com/in/asmith", "custom_data": {"crm_id": "43"}},
]

with DAG(
    dag_id="example_edges_schedule_admin",
    description="Keep an Edges schedule in step with the DAG; pause, resume, follow; continue a sync.",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "edges"],
) as admin_dag:
    upsert = EdgesScheduleOperator(
        task_id="upsert_schedule",
        name=SCHEDULE_NAME,
        action="linkedin-extract-contact",
        inputs=LEADS,
        cron="*/15 * * * *",
        timezone="Europe/Paris",
    )
    pause = EdgesScheduleActionOperator(
        task_id="pause_for_maintenance",
        operation="pause",
        name=SCHEDULE_NAME,
    )
    resume = EdgesScheduleActionOperator(
        task_id="resume_after_maintenance",
        operation="resume",
        schedule_uid="{{ ti.xcom_pull(task_ids='upsert_schedule')['schedule_uid'] }}",
    )
    wait_next = EdgesScheduleRunSensor(
        task_id="wait_for_next_run",
        schedule_uid="{{ ti.xcom_pull(task_ids='upsert_schedule')['schedule_uid'] }}",
        poll_interval=float(os.environ.get("EDGES_EXAMPLE_POLL", "60")),
        timeout=3600,
    )
    sync = EdgesActionOperator(
        task_id="sync_connections",
        action="linkedin-extract-connections",
        inputs=[{"linkedin_profile_url": "https://www.linkedin.com/in/jdoe"}],
        parameters={"sync_mode": "incremental"},
        deferrable=True,
    )
    fetch_more = EdgesRunActionOperator(
        task_id="fetch_new_connections",
        operation="continue",
        run_uid="{{ ti.xcom_pull(task_ids='sync_connections')['run_uid'] }}",
        deferrable=True,
    )
    upsert >> pause >> resume >> wait_next
    sync >> fetch_more


with DAG(
    dag_id="example_edges_schedule_retire",
    description="Cancel the Edges schedule (cancelling a cancelled one is a success).",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "edges"],
) as retire_dag:
    EdgesScheduleActionOperator(task_id="cancel_schedule", operation="cancel", name=SCHEDULE_NAME)


if __name__ == "__main__":
    admin_dag.test()
