"""Scenario 2: SIGKILL the triggerer that holds the most triggers while every task waits: Airflow's
HA moves its triggers to the other triggerer; every task ends right, each remote run was created
once, and the deadline still counts from the task's first wait."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from distributed_scenarios import FAILOVER_DEADLINE, FAILOVER_PER_SERVICE, tags
from distributed_stack import DistributedStack
from results import RESULTS, Timer, created, delta, runs_per_tag
from stack import wait_until

pytestmark = pytest.mark.timeout(900)

DAG_ID = "dist_triggerer_failover"
TASKS = 3 * FAILOVER_PER_SERVICE + 1


def _parse(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_killed_triggerer_hands_its_triggers_over(stack: DistributedStack):
    stack.wait_for_dag(DAG_ID)
    before = created(stack.counters())
    with Timer() as timer:
        run_id = stack.trigger(DAG_ID)

        def all_held() -> dict[str, str] | None:
            stack.check_alive()
            held = stack.holders(DAG_ID, run_id)
            return held if len(held) == TASKS else None

        held_before = wait_until(all_held, 400, "every task deferred and its trigger held", interval=2)
        split_before = stack.trigger_split(DAG_ID, run_id)
        victim = max(split_before, key=lambda name: split_before[name])
        moved = sorted(task for task, name in held_before.items() if name == victim)
        survivor = next(name for name in stack.triggerer_jobs if name != victim and name in stack.processes)
        killed_at = stack.kill(victim)

        def taken_over() -> dict[str, str] | None:
            stack.check_alive()
            held = stack.holders(DAG_ID, run_id)
            waiting = set(stack.trigger_split(DAG_ID, run_id))
            done = all(held.get(task) == survivor for task in moved if task in held)
            return held if done and waiting <= {survivor} else None

        wait_until(taken_over, 120, f"{survivor} holding {victim}'s triggers", interval=1)
        takeover_seconds = round(time.time() - killed_at, 1)
        run = stack.wait_for_run(DAG_ID, run_id, timeout=600)
    assert run["state"] == "failed", run  # the deadline task fails by design
    tis = stack.task_instances(DAG_ID, run_id)
    made = delta(before, created(stack.counters()))
    expected_tags = tags("failover", FAILOVER_PER_SERVICE)
    per_tag = runs_per_tag(stack.emulator("GET", "/_emulator/created"), expected_tags)
    deadline_ti = tis["deadline"]
    deadline_ran = _parse(deadline_ti["end_date"]) - _parse(deadline_ti["start_date"])
    RESULTS["2_triggerer_sigkill"] = {
        "wall_seconds": timer.seconds,
        "split_before_kill": split_before,
        "killed": victim,
        "triggers_moved": len(moved),
        "takeover_seconds": takeover_seconds,
        "task_states": {task: ti["state"] for task, ti in tis.items() if ti["state"] != "success"}
        or "all success",
        "runs_created": made,
        "duplicates": per_tag["duplicates"],
        "lost": per_tag["lost"],
        "deadline_task_ran_seconds": round(deadline_ran, 1),
        "deadline_seconds": FAILOVER_DEADLINE,
    }
    # Bring HA back for the next scenarios (a new process, a new job).
    stack.start_triggerer(f"{victim}-restarted")

    assert moved, split_before
    expected = {task: "success" for task in tis if task != "deadline"} | {"deadline": "failed"}
    assert {task: ti["state"] for task, ti in tis.items()} == expected, RESULTS["2_triggerer_sigkill"]
    assert all(ti["try_number"] == 1 for ti in tis.values()), "a task was retried instead of resumed"
    per_service = dict.fromkeys(("inferable", "edges"), FAILOVER_PER_SERVICE)
    assert made == {"inference_sh": FAILOVER_PER_SERVICE + 1, **per_service, "inference_sh_cancels": 0}, made
    assert per_tag["duplicates"] == per_tag["lost"] == {key: [] for key in per_service | {"inference_sh": 0}}
    # The deadline is absolute: it counts from the first wait, not from the takeover.
    assert _parse(deadline_ti["end_date"]) > killed_at, "the deadline task ended before the kill"
    assert deadline_ran >= FAILOVER_DEADLINE, deadline_ran
    assert _parse(deadline_ti["end_date"]) < killed_at + takeover_seconds + FAILOVER_DEADLINE - 3, (
        "the takeover reset the deadline"
    )
