"""Scenario 5: a user marks waiting tasks failed (REST API, as the UI does): each remote run is
cancelled exactly once, whichever triggerer held its trigger.

Half the tasks run on a task queue only ``triggerer-1`` serves besides the default one, half on
``triggerer-2``'s (``[triggerer] queues_enabled``), so both triggerers hold triggers that get
killed; without the pinning, ten triggers deferring within seconds tend to land on one."""

from __future__ import annotations

import time

import pytest
from distributed_scenarios import USER_KILL_TASK_IDS, USER_KILL_TASKS
from distributed_stack import DistributedStack
from results import RESULTS, Timer, created, delta
from stack import wait_until

from airflow_provider_runs.testing.emulator.inference_sh.store import CURRENT_CODES

pytestmark = pytest.mark.timeout(900)

DAG_ID = "dist_user_kill"


def test_mark_failed_cancels_each_run_once(stack: DistributedStack):
    stack.wait_for_dag(DAG_ID)
    before = created(stack.counters())
    with Timer() as timer:
        run_id = stack.trigger(DAG_ID)

        def all_held() -> dict[str, str] | None:
            stack.check_alive()
            held = stack.holders(DAG_ID, run_id)
            return held if len(held) == USER_KILL_TASKS else None

        held = wait_until(all_held, 300, "every task deferred and held", interval=1)
        time.sleep(3)  # a few polls first
        for task in held:
            task_id, index = task.removesuffix("]").split("[")
            stack.api(
                "PATCH",
                f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/{index}",
                json={"new_state": "failed"},
            )
        wait_until(
            lambda: delta(before, created(stack.counters()))["inference_sh_cancels"] >= USER_KILL_TASKS,
            120,
            "every cancel reaching the emulator",
        )
        time.sleep(10)  # a second cancel (another kill path, the other triggerer) would come now
    made = delta(before, created(stack.counters()))
    texts = {f"user kill {i}" for i in range(USER_KILL_TASKS)}
    remote = [t for t in stack.emulator("GET", "/_emulator/tasks") if t["input"].get("text") in texts]
    states = stack.task_states(DAG_ID, run_id)
    RESULTS["5_user_mark_failed"] = {
        "wall_seconds": timer.seconds,
        "holders": {name: list(held.values()).count(name) for name in sorted(set(held.values()))},
        "runs_created": made["inference_sh"],
        "cancels": made["inference_sh_cancels"],
        "remote_cancelled": sum(1 for t in remote if t["status"] == CURRENT_CODES["cancelled"]),
        "task_states": sorted(set(states.values())),
    }

    # each triggerer (or its restarted successor, after scenario 2) held the triggers of the tasks
    # pinned to it: both held killed tasks
    pinned = {task: USER_KILL_TASK_IDS[task.split("[")[0]] for task in held}
    assert {task: name.removesuffix("-restarted") for task, name in held.items()} == pinned, held
    assert made["inference_sh"] == USER_KILL_TASKS == len(remote), (made, remote)
    assert made["inference_sh_cancels"] == USER_KILL_TASKS, RESULTS["5_user_mark_failed"]
    assert all(t["status"] == CURRENT_CODES["cancelled"] for t in remote), remote
    assert set(states.values()) == {"failed"}, states
