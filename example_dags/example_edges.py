"""Edges examples: a nightly enrichment of a 20,000-row file, a live call, and a schedule.

Connection ``edges_default`` (type ``edges``): the API key as the password (sent as
``X-API-Key``); the host defaults to https://api.edges.run/v1; an identity mode (e.g.
``managed``) in the "Identity mode" field (``make demo`` points it at the local emulator).
The nightly example writes its files under ``$EDGES_EXAMPLE_DIR`` (default: ``edges-example`` in
the temporary directory).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

from airflow_provider_runs.operators.edges import EdgesActionOperator


def work_dir() -> Path:
    """Where the nightly example writes its files: ``$EDGES_EXAMPLE_DIR``, else ``edges-example``
    in the temporary directory. Read when a task runs (not when the file is parsed), so each
    test, demo or deployment points it at a directory of its own."""
    return Path(os.environ.get("EDGES_EXAMPLE_DIR") or Path(tempfile.gettempdir()) / "edges-example")


def rows() -> int:
    """How many profiles the stand-in export writes (``$EDGES_EXAMPLE_ROWS``, default 20,000)."""
    return int(os.environ.get("EDGES_EXAMPLE_ROWS", "20000"))


with DAG(
    dag_id="example_edges_nightly_enrichment",
    description="Enrich 20,000 LinkedIn profiles nightly; keep every result and every failed input.",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "edges"],
    user_defined_macros={"work_dir": work_dir},
) as nightly_dag:

    @task
    def export_profiles(ds=None) -> str:
        """Stands in for the CRM export: one JSON object per line."""
        directory = work_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"profiles-{ds}.jsonl"
        with path.open("w") as handle:
            for i in range(rows()):
                row = {
                    "linkedin_profile_url": f"https://www.linkedin.com/in/member-{i}",
                    "custom_data": {"crm_id": i},
                }
                handle.write(json.dumps(row) + "\n")
        return str(path)

    enrich = EdgesActionOperator(
        task_id="enrich_profiles",
        action="linkedin-extract-people",
        mode="async",
        inputs_path="{{ ti.xcom_pull(task_ids='export_profiles') }}",
        parameters={"experiences": True},
        output_path="{{ work_dir() }}/enriched-{{ ds }}.jsonl",
        failed_inputs_path="{{ work_dir() }}/failed-{{ ds }}.jsonl",
        partial_success="succeed",  # a few unreachable profiles must not fail the night
        on_needs_action={"BLOCKED": "resume"},  # resume a blocked run; a stopped one fails
        deferrable=True,
        poll_interval=2.0,
        timeout=6 * 3600,
    )

    @task
    def summarize(manifest: dict) -> dict:
        """Read the counts (not the results) from the manifest; peek at the files."""
        with open(manifest["output_path"]) as handle:
            first = json.loads(handle.readline())
        summary = {
            "status": manifest["status"],
            "results": manifest["results"],
            "failed_inputs": manifest["failed_inputs"],
            "first_result": first.get("full_name"),
        }
        print(summary)
        return summary

    summarize(enrich.output)
    export_profiles() >> enrich


with DAG(
    dag_id="example_edges_live_and_schedule",
    description="A live lookup of one profile, and a weekly schedule of a small list.",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "edges"],
) as live_dag:
    lookup = EdgesActionOperator(
        task_id="lookup_one_profile",
        action="linkedin-extract-people",
        mode="live",
        input={"linkedin_profile_url": "https://www.linkedin.com/in/jdoe", "custom_data": {"crm_id": "42"}},
    )
    weekly = EdgesActionOperator(
        task_id="weekly_schedule",
        action="linkedin-extract-contact",
        mode="schedule",
        inputs=[{"linkedin_profile_url": "https://www.linkedin.com/in/jdoe"}],
        cron="0 6 * * 1",
        timezone="Europe/Paris",
    )
    lookup >> weekly


if __name__ == "__main__":
    nightly_dag.test()
