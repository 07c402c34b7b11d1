"""Inferable examples: a daily report with a typed (pydantic) result, and a run that needs an
approval answered in Airflow.

Connection ``inferable_default`` (type ``inferable``): the cluster API key as the password, the
cluster id in the "Cluster ID" field; the host defaults to https://api.inferable.ai (``make demo``
points it at the local emulator).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task
from pydantic import BaseModel, Field

from airflow_provider_runs.operators.inferable import InferableRunOperator


class TicketReport(BaseModel):
    """What the agent must return: validated before the task succeeds."""

    open_tickets: int = Field(ge=0)
    oldest_ticket_id: str
    summary: str


with DAG(
    dag_id="example_inferable_daily_report",
    description="An agent counts open tickets; a downstream task uses the typed result.",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "inferable"],
) as report_dag:
    count_tickets = InferableRunOperator(
        task_id="count_tickets",
        initial_prompt="Count the open support tickets for {{ ds }} and name the oldest one.",
        result_schema=TicketReport,
        tools=["tickets_search"],
        context={"tenant": "acme"},
        deferrable=True,
        poll_interval=1.0,
        timeout=timedelta(minutes=30),
        retries=1,
    )

    @task
    def publish(report: dict) -> str:
        """The result arrives as the model's JSON data; rebuild the model to use it typed."""
        typed = TicketReport.model_validate(report["result"])
        line = f"{typed.open_tickets} open tickets; oldest {typed.oldest_ticket_id}: {typed.summary}"
        print(line)
        return line

    publish(count_tickets.output)


with DAG(
    dag_id="example_inferable_approval",
    description="An agent wants to send an e-mail; a human approves it in Airflow.",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "inferable"],
) as approval_dag:
    notify_customer = InferableRunOperator(
        task_id="notify_customer",
        initial_prompt="Tell customer ACME that their ticket is resolved.",
        result_schema={
            "type": "object",
            "properties": {"sent": {"type": "boolean"}, "recipient": {"type": "string"}},
            "required": ["sent"],
        },
        tools=["send_email"],
        on_needs_action="ask",  # the approval request shows up in Airflow's "Required actions"
        approval_timeout=timedelta(hours=4),
        deferrable=True,
        poll_interval=1.0,
        timeout=timedelta(hours=6),
        # for the emulator: the agent asks to approve its send_email call
        context={"_emulator": {"approval": {"tool": "send_email", "input": {"to": "ops@acme.example"}}}},
    )


if __name__ == "__main__":
    report_dag.test()
