"""Scenario DAGs of the end-to-end suite (a second DAG bundle beside ``example_dags/``).

Each remote run's outcome and duration is scripted through the emulator's reserved
``_emulator`` keys, so the suite knows exactly what every task must end with.
"""

from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

LONG = 45.0
"""Seconds the long runs take: long enough to kill and restart the triggerer meanwhile."""
DEADLINE = 30
"""``timeout`` of the task whose run never ends: it must fail at this deadline, restart or not."""

STEP_SECONDS = 3.75
"""Seconds each agent step lasts in the e2e emulator (``RUN_SECONDS / 4`` in ``tests/e2e/stack.py``)."""

COMMON = {"start_date": datetime(2026, 1, 1), "schedule": None, "catchup": False, "tags": ["e2e"]}
WAIT = {"deferrable": True, "poll_interval": 1.0}


def inference_sh_input(text: str, outcome: str = "completed", duration: float = LONG) -> dict[str, Any]:
    """An echo input whose task ends with ``outcome`` after ``duration`` seconds."""
    return {
        "text": text,
        "_emulator": {"outcome": outcome, "duration": duration, "error": "scripted failure"},
    }


with DAG(dag_id="e2e_triggerer_restart", **COMMON):
    InferenceShTaskOperator(
        task_id="inference_sh_succeeds",
        app="acme/echo@v1",
        input=inference_sh_input("survives the restart"),
        **WAIT,
    )
    InferenceShTaskOperator(
        task_id="inference_sh_fails",
        app="acme/echo@v1",
        input=inference_sh_input("fails after the restart", outcome="failed"),
        **WAIT,
    )
    InferenceShTaskOperator(
        task_id="inference_sh_deadline",
        app="acme/echo@v1",
        input=inference_sh_input("never ends", outcome="stuck"),
        timeout=DEADLINE,
        **WAIT,
    )
    InferableRunOperator(
        task_id="inferable_succeeds",
        initial_prompt="Take your time, then answer.",
        result_schema={"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
        context={"_emulator": {"outcome": "done", "steps": int(LONG / STEP_SECONDS), "result": {"ok": True}}},
        **WAIT,
    )
    EdgesActionOperator(
        task_id="edges_succeeds",
        action="linkedin-extract-people",
        mode="async",
        inputs=[{"linkedin_profile_url": f"https://www.linkedin.com/in/member-{i}"} for i in range(3)],
        parameters={"_emulator": {"duration": LONG}},
        **WAIT,
    )


with DAG(dag_id="e2e_user_kill", **COMMON):
    InferenceShTaskOperator(
        task_id="killed_by_user",
        app="acme/echo@v1",
        input=inference_sh_input("the user marks me failed", outcome="stuck"),
        cancel_on_kill=True,
        **WAIT,
    )


class WorkerDiesAfterCreatingRun(InferenceShTaskOperator):
    """Its first try's worker process is SIGKILLed right after the run was created and recorded."""

    def wait(self, context: Any, run_id: str, **kwargs: Any) -> Any:
        """Die on the first try (like an OOM kill or a lost node); wait normally on later tries."""
        if context["ti"].try_number == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().wait(context, run_id, **kwargs)


with DAG(dag_id="e2e_retry_after_worker_kill", **COMMON):
    WorkerDiesAfterCreatingRun(
        task_id="dies_then_reattaches",
        app="acme/echo@v1",
        input=inference_sh_input("created once", duration=40.0),
        retries=1,
        retry_delay=timedelta(seconds=2),
        **WAIT,
    )
