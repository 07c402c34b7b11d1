"""Scenario DAGs of the distributed end-to-end suite (CeleryExecutor, two workers, two triggerers).

Each remote run's outcome and duration is scripted through the emulator's reserved ``_emulator``
keys, so the suite knows exactly what every task must end with. The tests import the constants.
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

STEP_SECONDS = 15 / 4
"""Seconds each Inferable agent step lasts in the emulator (``run_seconds / 4`` of the stack)."""
COMMON = {
    "start_date": datetime(2026, 1, 1),
    "schedule": None,
    "catchup": False,
    "tags": ["e2e-distributed"],
    "max_active_tasks": 400,
}
WAIT = {"deferrable": True, "poll_interval": 2.0}
RESULT_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}

FANOUT_PER_SERVICE = 100
FANOUT_SECONDS = 60.0
"""How long each fan-out run lasts: with 300 task starts on two workers, about half wait at once."""
FAILOVER_PER_SERVICE = 6
FAILOVER_SECONDS = 75.0
FAILOVER_DEADLINE = 60
"""``timeout`` of the failover task whose run never ends: it fails at this deadline, kill or not."""
BUDGET_TASKS = 20
BUDGET_SECONDS = 75.0
BUDGET_CONN_ID = "edges_budget"
"""The Edges connection of the budget scenario: ``requests_per_minute=BUDGET_RPM`` (the stack sets it)."""
BUDGET_RPM = 20
USER_KILL_TASKS = 10
PINNED_QUEUES = {"triggerer-1": "pinned-1", "triggerer-2": "pinned-2"}
"""A task queue per triggerer (``[triggerer] queues_enabled``): each triggerer serves ``default``
and its own queue, so the mark-failed scenario puts half its triggers on each triggerer."""
USER_KILL_TASK_IDS = {f"killed_on_{name.replace('-', '_')}": name for name in PINNED_QUEUES}
"""``{task id: the triggerer its triggers are pinned to}`` of the mark-failed scenario."""


def inference_sh_input(text: str, outcome: str = "completed", duration: float = 60.0) -> dict[str, Any]:
    """An echo input whose task ends with ``outcome`` after ``duration`` seconds."""
    return {"text": text, "_emulator": {"outcome": outcome, "duration": duration, "error": "scripted"}}


def inferable_context(tag: str, duration: float) -> dict[str, Any]:
    """An agent run tagged ``tag`` (``GET /_emulator/created``) that succeeds after about
    ``duration`` seconds."""
    steps = max(1, int(duration / STEP_SECONDS))
    return {"_emulator": {"outcome": "done", "steps": steps, "result": {"ok": True}, "tag": tag}}


def edges_inputs(prefix: str, index: int) -> list[dict[str, str]]:
    """One profile: one Edges run."""
    return [{"linkedin_profile_url": f"https://www.linkedin.com/in/{prefix}-{index}"}]


def tags(prefix: str, count: int) -> dict[str, list[str]]:
    """The tag of each remote run ``three_services(prefix, count, ...)`` creates, by service
    (``GET /_emulator/created``: inference.sh tags by input text, the others by scenario tag)."""
    return {
        "inference_sh": [f"{prefix} {i}" for i in range(count)],
        "inferable": [f"{prefix}-inferable-{i}" for i in range(count)],
        "edges": [f"{prefix}-edges-{i}" for i in range(count)],
    }


def three_services(prefix: str, count: int, seconds: float) -> None:
    """``count`` mapped tasks per service, each waiting ``seconds`` on its tagged remote run."""
    tagged = tags(prefix, count)
    InferenceShTaskOperator.partial(task_id="inference_sh", app="acme/echo@v1", **WAIT).expand(
        input=[inference_sh_input(text, duration=seconds) for text in tagged["inference_sh"]]
    )
    InferableRunOperator.partial(task_id="inferable", result_schema=RESULT_SCHEMA, **WAIT).expand_kwargs(
        [
            {"initial_prompt": f"{tag}: answer ok", "context": inferable_context(tag, seconds)}
            for tag in tagged["inferable"]
        ]
    )
    EdgesActionOperator.partial(
        task_id="edges", action="linkedin-extract-people", mode="async", **WAIT
    ).expand_kwargs(
        [
            {"inputs": edges_inputs(prefix, i), "parameters": {"_emulator": {"duration": seconds, "tag": t}}}
            for i, t in enumerate(tagged["edges"])
        ]
    )


with DAG(dag_id="dist_fanout", **COMMON):
    three_services("fanout", FANOUT_PER_SERVICE, FANOUT_SECONDS)


with DAG(dag_id="dist_triggerer_failover", **COMMON):
    three_services("failover", FAILOVER_PER_SERVICE, FAILOVER_SECONDS)
    InferenceShTaskOperator(
        task_id="deadline",
        app="acme/echo@v1",
        input=inference_sh_input("failover never ends", outcome="stuck"),
        timeout=FAILOVER_DEADLINE,
        **WAIT,
    )


class KillsItsCeleryWorker(InferenceShTaskOperator):
    """On its first try, SIGKILLs its whole Celery worker (a lost node) right after the run was
    created and recorded, then itself; later tries wait normally."""

    def wait(self, context: Any, run_id: str, **kwargs: Any) -> Any:
        """Kill the worker on the first try: the supervisor (the worker's pool process) is our
        parent, in the worker's process group; the task process leads a group of its own."""
        if context["ti"].try_number == 1:
            os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)
        return super().wait(context, run_id, **kwargs)


with DAG(dag_id="dist_worker_kill", **COMMON):
    KillsItsCeleryWorker(
        task_id="worker_dies",
        app="acme/echo@v1",
        input=inference_sh_input("created once on celery", duration=40.0),
        retries=1,
        retry_delay=timedelta(seconds=2),
        **WAIT,
    )


with DAG(dag_id="dist_budget", **COMMON):
    EdgesActionOperator.partial(
        task_id="edges",
        action="linkedin-extract-people",
        mode="async",
        parameters={"_emulator": {"duration": BUDGET_SECONDS}},
        edges_conn_id=BUDGET_CONN_ID,
        deferrable=True,
        poll_interval=1.0,
    ).expand(inputs=[edges_inputs("budget", i) for i in range(BUDGET_TASKS)])


with DAG(dag_id="dist_user_kill", **COMMON):
    _per_task = USER_KILL_TASKS // len(USER_KILL_TASK_IDS)
    for _number, (_task_id, _triggerer) in enumerate(USER_KILL_TASK_IDS.items()):
        InferenceShTaskOperator.partial(
            task_id=_task_id,
            app="acme/echo@v1",
            cancel_on_kill=True,
            queue=PINNED_QUEUES[_triggerer],
            **WAIT,
        ).expand(
            input=[
                inference_sh_input(f"user kill {_number * _per_task + i}", outcome="stuck")
                for i in range(_per_task)
            ]
        )
