"""inference.sh examples: a session chained across tasks, and a dynamically mapped batch.

Connection ``inference_sh_default`` (type ``inference_sh``): API key as the password; the host
defaults to https://api.inference.sh (``make demo`` points it at the local emulator).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator
from airflow_provider_runs.sensors.inference_sh import InferenceShTaskSensor

DEFAULTS = {"retries": 1, "deferrable": True, "poll_interval": 1.0, "timeout": 600}

with DAG(
    dag_id="example_inference_sh_session",
    description="Start a session, continue it in a second task, then report both results.",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "inference_sh"],
) as session_dag:
    open_session = InferenceShTaskOperator(
        task_id="open_session",
        app="acme/counter@v1",
        input={"label": "run {{ run_id }}"},
        session="new",
        session_timeout=300,
        **DEFAULTS,
    )
    continue_session = InferenceShTaskOperator(
        task_id="continue_session",
        app="acme/counter@v1",
        input={"label": "second call"},
        session="{{ ti.xcom_pull(task_ids='open_session')['session_id'] }}",
        **DEFAULTS,
    )
    watch = InferenceShTaskSensor(
        task_id="watch_first_task",
        run_id="{{ ti.xcom_pull(task_ids='open_session')['run_id'] }}",
        poll_interval=1.0,
        deferrable=True,
    )

    @task
    def report(first: dict, second: dict) -> dict:
        """Both calls ran in the same session; the counter app counts calls per session."""
        assert first["session_id"] == second["session_id"], "the session was not reused"
        print(f"session {first['session_id']}: outputs {first['output']} then {second['output']}")
        return {"session_id": first["session_id"], "outputs": [first["output"], second["output"]]}

    open_session >> continue_session >> watch
    report(open_session.output, continue_session.output)


with DAG(
    dag_id="example_inference_sh_batch",
    description="Run the echo app once per input with dynamic task mapping, then summarize.",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "inference_sh"],
) as batch_dag:

    @task
    def make_inputs() -> list[dict]:
        """In a real pipeline these come from a table or a file."""
        return [{"text": f"document {i}"} for i in range(1, 6)]

    echoes = InferenceShTaskOperator.partial(task_id="echo", app="acme/echo@v1", **DEFAULTS).expand(
        input=make_inputs()
    )

    @task
    def summarize(manifests: list[dict]) -> dict:
        """Collect every mapped task's output.

        ``manifests[:]`` reads every mapped result in one request; a plain ``for`` loop would read
        them one by one, and Airflow logs its look-up one past the last as an error.
        """
        texts = [m["output"]["text"] for m in manifests[:]]
        print(f"{len(texts)} tasks completed: {texts}")
        return {"count": len(texts), "texts": texts}

    summarize(echoes.output)


if __name__ == "__main__":
    session_dag.test()
    batch_dag.test()
