"""A user's DAG: shout a greeting with an inference.sh app, then turn the result into a headline."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param, task

from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

with DAG(
    dag_id="greeting_headline",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"text": Param("hello", type="string")},
) as dag:
    shout = InferenceShTaskOperator(
        task_id="shout",
        app="acme/echo@v1",
        function="shout",
        input={"text": "{{ params.text }}"},
        deferrable=True,
        poll_interval=0.5,
    )

    @task
    def headline(run: dict) -> str:
        """The app's output text as a headline."""
        return f"** {run['output']['text']} **"

    headline(shout.output)
