"""Day-two operations: list runs, act on each listed one (dynamic task mapping), end a session,
answer an agent's approval and continue its conversation.

Connections ``inference_sh_default``, ``inferable_default`` and ``edges_default`` (``make demo``
points them at the local emulator). The ``_emulator`` keys in inputs script the emulator (a task
that never ends, an agent that asks for approval); a real service ignores or rejects them, so
drop them against a real account.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task

from airflow_provider_runs.operators.edges_listing import EdgesListRunsOperator
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.operators.inferable_actions import InferableApprovalOperator
from airflow_provider_runs.operators.inferable_listing import InferableListRunsOperator
from airflow_provider_runs.operators.inferable_message import InferableSendMessageOperator
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator
from airflow_provider_runs.operators.inference_sh_actions import (
    InferenceShCancelTaskOperator,
    InferenceShEndSessionOperator,
)
from airflow_provider_runs.operators.inference_sh_listing import (
    ACTIVE_STATUSES,
    InferenceShListTasksOperator,
)

WAIT = {"deferrable": True, "poll_interval": 1.0, "timeout": 600}
STUCK = {"_emulator": {"outcome": "stuck"}}
"""Emulator script: the task runs until it is cancelled."""

with DAG(
    dag_id="example_day_two",
    description="List, cancel each listed task, end a session, approve an agent's tool call, follow up.",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "day-two"],
    default_args={"retries": 1, "retry_delay": timedelta(seconds=30)},  # quick calls: retry soon
) as dag:
    # -- inference.sh: cancel every job of this DAG run still going (listed, then mapped) ---------

    @task
    def job_inputs(**context) -> list[dict]:
        """Three jobs tagged with this DAG run, so the listing finds these and no others."""
        return [{"text": f"job {i} of {context['run_id']}", **STUCK} for i in range(3)]

    start_jobs = InferenceShTaskOperator.partial(
        task_id="start_jobs", app="acme/echo@v1", wait_for_completion=False
    ).expand(input=job_inputs())

    list_running = InferenceShListTasksOperator(
        task_id="list_running",
        statuses=list(ACTIVE_STATUSES),  # received, queued, ..., running, cancelling, uploading
        created_after="{{ dag_run.start_date }}",
        search="of {{ run_id }}",  # this DAG run's jobs only
        limit=50,
        ids_only=True,
    )
    cancel_each = InferenceShCancelTaskOperator.partial(task_id="cancel_each").expand(
        run_id=list_running.output
    )
    start_jobs >> list_running

    # -- inference.sh: a session used by one task, then ended (idempotent on retry) ---------------
    use_session = InferenceShTaskOperator(
        task_id="use_session",
        app="acme/counter@v1",
        input={"label": "{{ run_id }}"},
        session="new",
        session_timeout=600,
        **WAIT,
    )
    end_session = InferenceShEndSessionOperator(
        task_id="end_session",
        session_id="{{ ti.xcom_pull(task_ids='use_session')['session_id'] }}",
    )
    use_session >> end_session

    # -- Inferable: approve the agent's tool call, then continue the conversation ----------------
    agent = InferableRunOperator(
        task_id="agent",
        initial_prompt="Draft the renewal e-mail for ACME and send it.",
        tools=["send_email"],
        interactive=True,
        wait_for_completion=False,
        context={"_emulator": {"approval": {"tool": "send_email", "input": {"to": "ops@acme.example"}}}},
    )
    approve = InferableApprovalOperator(
        task_id="approve_send_email",
        run_id="{{ ti.xcom_pull(task_ids='agent')['run_id'] }}",
        tool="send_email",
        decision="{{ params.get('decision', 'approve') }}",
        wait_for_request=True,
        wait_for_completion=True,
        **WAIT,
    )
    follow_up = InferableSendMessageOperator(
        task_id="follow_up",
        run_id="{{ ti.xcom_pull(task_ids='agent')['run_id'] }}",
        message="Thanks. Now list what you sent, in one line.",
        wait_for_completion=True,
        **WAIT,
    )
    agent >> approve >> follow_up

    # -- listing on every service, for reports or further mapping --------------------------------
    agent_runs = InferableListRunsOperator(task_id="list_agent_runs", statuses=["done"], limit=10)
    failed_edges_runs = EdgesListRunsOperator(
        task_id="list_failed_edges_runs", statuses=["FAILED", "PARTIAL_SUCCEEDED"], limit=100
    )
    follow_up >> agent_runs

    @task
    def report(cancelled: list[dict], agents: list[dict], edges_runs: list[dict]) -> dict:
        """One line per service: what the day-two tasks did."""
        outcomes = sorted(c["outcome"] for c in cancelled[:])
        summary = {
            "cancelled": outcomes,
            "agent_runs_done": [a["run_id"] for a in agents],
            "edges_runs_to_rerun": [r["run_id"] for r in edges_runs],
        }
        print(summary)
        return summary

    report(cancel_each.output, agent_runs.output, failed_edges_runs.output)


if __name__ == "__main__":
    dag.test()
