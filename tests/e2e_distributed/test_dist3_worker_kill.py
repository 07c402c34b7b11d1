"""Scenario 3: a Celery worker is SIGKILLed (its whole process group) right after its task created
the remote run; the scheduler fails the orphaned try after the heartbeat timeout, the retry runs
on the other worker and reattaches to the same run (0 duplicates)."""

from __future__ import annotations

import pytest
from distributed_stack import HEARTBEAT_TIMEOUT, WORKERS, DistributedStack
from results import RESULTS, Timer, created, delta
from stack import wait_until

pytestmark = pytest.mark.timeout(900)

DAG_ID = "dist_worker_kill"
TEXT = "created once on celery"


def _ran_try(stack: DistributedStack, worker: str, run_id: str, try_number: int) -> bool:
    """Whether a log of ``worker`` (restarted or not) shows it executing try ``try_number``."""
    logs = [p.log_path for p in [*stack.retired, *stack.processes.values()] if p.name == worker]
    return any(
        "Executing workload" in line
        and f"task_id='worker_dies', dag_id='{DAG_ID}'" in line
        and run_id in line
        and f"try_number={try_number}," in line
        for log in logs
        for line in log.read_text(errors="replace").splitlines()
    )


def test_retry_on_the_other_worker_reattaches(stack: DistributedStack):
    stack.wait_for_dag(DAG_ID)
    before = created(stack.counters())
    stack.may_exit.update(WORKERS)  # the task kills one of them: which one is the scheduler's pick
    try:
        with Timer() as timer:
            run_id = stack.trigger(DAG_ID)

            def dead_worker() -> str | None:
                stack.check_alive()
                return next((name for name in WORKERS if not stack.processes[name].alive()), None)

            victim = wait_until(dead_worker, 300, "the first try killing its Celery worker", interval=1)
            stack.retire(victim)
            run = stack.wait_for_run(DAG_ID, run_id, timeout=400)
    finally:
        stack.may_exit.difference_update(WORKERS)
    ti = stack.task_instances(DAG_ID, run_id)["worker_dies"]
    survivor = next(name for name in WORKERS if name != victim)
    remote = [t for t in stack.emulator("GET", "/_emulator/tasks") if t["input"].get("text") == TEXT]
    made = delta(before, created(stack.counters()))
    RESULTS["3_worker_sigkill"] = {
        "wall_seconds": timer.seconds,
        "killed_worker": victim,
        "first_try_on": victim if _ran_try(stack, victim, run_id, 1) else "?",
        "retry_on": survivor if _ran_try(stack, survivor, run_id, 2) else "?",
        "heartbeat_timeout_seconds": HEARTBEAT_TIMEOUT,
        "try_number": ti["try_number"],
        "state": ti["state"],
        "runs_created": made,
        "remote_runs_with_the_task_input": len(remote),
    }
    # The killed worker comes back for the next scenarios (its group is gone: a new process).
    stack.start_worker(victim)

    assert run["state"] == "success" and ti["state"] == "success", (run, ti)
    assert ti["try_number"] == 2, ti
    assert _ran_try(stack, victim, run_id, 1), "the first try did not run on the killed worker"
    assert _ran_try(stack, survivor, run_id, 2), "the retry did not run on the other worker"
    assert made["inference_sh"] == 1 and len(remote) == 1, (made, remote)
    manifest = stack.xcom(DAG_ID, run_id, "worker_dies")
    assert manifest["status"] == "completed" and manifest["output"] == {"text": TEXT}, manifest
    assert manifest["task_id"] == remote[0]["id"], (manifest, remote)
