"""Edges example: enrich a file of profiles, then rerun only the inputs that failed.

The first task runs the whole batch and keeps going when some inputs fail
(``partial_success="succeed"``); the second launches one run over just the failed inputs, writes
its results beside the first ones (``enriched-<ds>.rerun-1.jsonl``) and returns the merged
counts. A retry of the rerun task reattaches to the rerun it created: nothing is sent twice.

Connection ``edges_default`` (type ``edges``), as in ``example_edges.py``. Files go under
``$EDGES_EXAMPLE_DIR`` (default: ``edges-example`` in the temporary directory); the export has
``$EDGES_RERUN_EXAMPLE_ROWS`` rows (else ``$EDGES_EXAMPLE_ROWS``, else 10,000).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.edges_rerun import EdgesRerunFailedInputsOperator


def work_dir() -> Path:
    """Where the example writes its files (read when a task runs, not when the file is parsed)."""
    return Path(os.environ.get("EDGES_EXAMPLE_DIR") or Path(tempfile.gettempdir()) / "edges-example")


with DAG(
    dag_id="example_edges_rerun_failed",
    description="Enrich profiles; rerun only the inputs that failed; report the merged counts.",
    schedule="0 3 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "edges"],
    user_defined_macros={"work_dir": work_dir},
) as dag:

    @task
    def export_profiles(ds=None) -> str:
        """Stands in for the CRM export: one JSON object per line."""
        directory = work_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"profiles-{ds}.jsonl"
        rows = int(
            os.environ.get("EDGES_RERUN_EXAMPLE_ROWS") or os.environ.get("EDGES_EXAMPLE_ROWS") or 10000
        )
        with path.open("w") as handle:
            for i in range(rows):
                row = {
                    "linkedin_profile_url": f"https://www.linkedin.com/in/member-{i}",
                    "custom_data": {"crm_id": i},
                }
                handle.write(json.dumps(row) + "\n")
        return str(path)

    enrich = EdgesActionOperator(
        task_id="enrich_profiles",
        action="linkedin-extract-people",
        inputs_path="{{ ti.xcom_pull(task_ids='export_profiles') }}",
        parameters={"experiences": True},
        output_path="{{ work_dir() }}/enriched-{{ ds }}.jsonl",
        failed_inputs_path="{{ work_dir() }}/failed-{{ ds }}.jsonl",
        partial_success="succeed",  # keep going: the next task reruns what failed
        deferrable=True,
        poll_interval=2.0,
        timeout=6 * 3600,
    )

    rerun = EdgesRerunFailedInputsOperator(
        task_id="rerun_failed_inputs",
        manifest=enrich.output,  # the first task's manifest: its run, counts and files
        # results go to enriched-<ds>.rerun-1.jsonl, inputs failing again to failed-<ds>.rerun-1.jsonl
        partial_success="succeed",
        deferrable=True,
        poll_interval=2.0,
        timeout=3600,
        retries=2,
    )

    @task
    def report(manifest: dict) -> dict:
        """The counts across both runs (not the results)."""
        summary = {
            "first_run_failed": manifest["first_run"]["failed_inputs"],
            "rerun_sent": manifest["sent_inputs"],
            "rerun_status": manifest["status"],
            **{f"merged_{key}": value for key, value in manifest["merged"].items()},
        }
        print(summary)
        return summary

    export_profiles() >> enrich
    report(rerun.output)


if __name__ == "__main__":
    dag.test()
