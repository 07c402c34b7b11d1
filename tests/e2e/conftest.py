"""Fixtures of the end-to-end suite: one real Airflow deployment per session (``make e2e``)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from example_ids import APPROVAL_DAG, EXAMPLE_DAG_IDS, RERUN_DAG, RERUN_FAIL_SHARE
from stack import OUTPUT_DIR, AirflowStack, wait_until


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """A fresh output folder for this run."""
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
    (OUTPUT_DIR / "screenshots").mkdir(parents=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def stack(output_dir: Path) -> Iterator[AirflowStack]:
    """The emulator, API server, scheduler, DAG processor and triggerer; stopped even on failure."""
    deployment = AirflowStack(output_dir)
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()


HUMAN_SECONDS = 2.0
"""How long the responder looks at a parked request before answering, as a person would."""


def park_seen_by_scheduler(stack: AirflowStack, run_id: str, task_id: str) -> bool:
    """Whether the scheduler has processed the executor's exit event of ``task_id``'s park.

    Airflow 3.3.2's scheduler fails a task whose resume is queued or running before it has handled
    that event ("task state changed externally"). How long that takes depends on the scheduler's
    load (5.7 s after the park in one CI run, past the fixed 5 s this responder used to wait), so
    the responder waits for the scheduler's own record of it: its "TaskInstance Finished" line for
    the task with ``state=awaiting_input``.
    """
    log = stack.logs / "scheduler.log"
    if not log.exists():
        return False
    needle = f"task_id={task_id}, run_id={run_id},"
    return any(
        "TaskInstance Finished" in line and needle in line and "state=awaiting_input" in line
        for line in log.read_text(errors="replace").splitlines()
    )


def answer_approval(stack: AirflowStack, run_id: str, choice: str) -> dict[str, Any]:
    """Wait for ``notify_customer`` to park on its approval request, then answer it through the REST API."""
    base = f"/dags/{APPROVAL_DAG}/dagRuns/{run_id}"

    def parked_request() -> dict[str, Any] | None:
        stack.check_alive()
        rows = stack.api("GET", f"{base}/hitlDetails")["hitl_details"]
        return next(
            (
                row
                for row in rows
                if row.get("responded_at") is None and row["task_instance"]["state"] == "awaiting_input"
            ),
            None,
        )

    request = wait_until(parked_request, 300, "the approval request", interval=1)
    try:
        wait_until(
            lambda: park_seen_by_scheduler(stack, run_id, "notify_customer"),
            60,
            "the scheduler to handle the park's exit event",
            interval=0.5,
        )
    except TimeoutError as exc:  # the log line's form changed: answer as before, and say so
        print(f"answering without the scheduler's record of the park: {exc}")
    time.sleep(HUMAN_SECONDS)
    path = f"{base}/taskInstances/notify_customer/-1/hitlDetails"
    stack.api("PATCH", path, json={"chosen_options": [choice], "params_input": {}})
    return request


@pytest.fixture(scope="session")
def example_runs(stack: AirflowStack) -> dict[str, Any]:
    """Trigger every example DAG, answer the approval, wait for all; return runs and timings."""
    before = stack.counters()
    started = time.monotonic()
    # The rerun example's first batch loses 3% of its inputs (a scenario of the emulator's next
    # Edges run), so its second task has something to rerun. It starts alone, until its first run
    # exists, so that no other example's Edges run takes that scenario.
    scenario = {"fail_share": RERUN_FAIL_SHARE, "error_label": "GENERIC_ERROR"}
    stack.emulator(
        "POST", "/_emulator/scenarios", json={"service": "edges", "count": 1, "scenario": scenario}
    )
    run_ids = {RERUN_DAG: stack.trigger(RERUN_DAG)}
    wait_until(
        lambda: stack.counters()["edges"]["runs_created"] > before["edges"]["runs_created"],
        300,
        "the rerun example's first Edges run",
        interval=1,
    )
    run_ids |= {dag_id: stack.trigger(dag_id) for dag_id in EXAMPLE_DAG_IDS if dag_id != RERUN_DAG}
    approval = answer_approval(stack, run_ids[APPROVAL_DAG], "Approve")
    runs = {dag_id: stack.wait_for_run(dag_id, run_id, timeout=900) for dag_id, run_id in run_ids.items()}
    return {
        "run_ids": run_ids,
        "runs": runs,
        "approval": approval,
        "wall_seconds": time.monotonic() - started,
        "before": before,
        "after": stack.counters(),
    }
