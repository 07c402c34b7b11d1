"""Scenario 1: 300 mapped deferrable tasks (a third per service) on two Celery workers and two
triggerers whose capacity is below 300: all succeed, each remote run is created once, and the
triggers are spread over both triggerers (read from ``trigger.triggerer_id`` while tasks wait)."""

from __future__ import annotations

from typing import Any

import pytest
from distributed_scenarios import FANOUT_PER_SERVICE, tags
from distributed_stack import TRIGGERER_CAPACITY, TRIGGERERS, DistributedStack
from results import RESULTS, Timer, created, delta, runs_per_tag
from stack import TERMINAL_RUN_STATES, wait_until

pytestmark = pytest.mark.timeout(1200)

DAG_ID = "dist_fanout"


def test_300_tasks_spread_over_two_triggerers(stack: DistributedStack):
    stack.wait_for_dag(DAG_ID)
    before = created(stack.counters())
    peak: dict[str, Any] = {"held": 0, "split": {}}
    samples: list[dict[str, int]] = []
    with Timer() as timer:
        run_id = stack.trigger(DAG_ID)

        def ended() -> dict[str, Any] | None:
            stack.check_alive()
            split = stack.trigger_split(DAG_ID, run_id)
            samples.append(split)
            held = sum(count for name, count in split.items() if name != "unassigned")
            if held > peak["held"]:
                peak.update(held=held, split=split)
            run = stack.dag_run(DAG_ID, run_id)
            return run if run["state"] in TERMINAL_RUN_STATES else None

        run = wait_until(ended, 1100, f"end of {DAG_ID}", interval=3)
    tis = stack.task_instances(DAG_ID, run_id)
    counters = stack.counters()
    made = delta(before, created(counters))
    per_tag = runs_per_tag(stack.emulator("GET", "/_emulator/created"), tags("fanout", FANOUT_PER_SERVICE))
    most_per_triggerer = {
        name: max((sample.get(name, 0) for sample in samples), default=0) for name in TRIGGERERS
    }
    RESULTS["1_fanout_300"] = {
        "wall_seconds": timer.seconds,
        "dag_run": run["state"],
        "task_states": _count(ti["state"] for ti in tis.values()),
        "tries": _count(ti["try_number"] for ti in tis.values()),
        "trigger_split_at_peak": peak["split"],
        "most_triggers_per_triggerer": most_per_triggerer,
        "triggerer_capacity": TRIGGERER_CAPACITY,
        "runs_created": made,
        "duplicates": per_tag["duplicates"],
        "lost": per_tag["lost"],
        "requests_total": counters["requests_total"],
    }

    assert len(tis) == 3 * FANOUT_PER_SERVICE, len(tis)
    assert run["state"] == "success", RESULTS["1_fanout_300"]
    assert {ti["state"] for ti in tis.values()} == {"success"}
    expected = dict.fromkeys(("inference_sh", "inferable", "edges"), FANOUT_PER_SERVICE)
    assert made == {**expected, "inference_sh_cancels": 0}, made
    assert per_tag["duplicates"] == per_tag["lost"] == {key: [] for key in expected}, per_tag
    # Both triggerers held triggers, and neither more than its capacity.
    assert all(most_per_triggerer[name] > 0 for name in TRIGGERERS), most_per_triggerer
    assert all(count <= TRIGGERER_CAPACITY for count in most_per_triggerer.values()), most_per_triggerer


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return counts
