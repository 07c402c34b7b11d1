"""What only a real deployment shows: a triggerer restart, a user kill, a worker killed mid-task."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from stack import AirflowStack, wait_until

from airflow_provider_runs.testing.emulator.inference_sh.store import CURRENT_CODES

pytestmark = pytest.mark.timeout(900)

DEADLINE = 30  # tests/e2e/dags/e2e_scenarios.py: timeout of inference_sh_deadline
RESTART_EXPECTED = {
    "inference_sh_succeeds": "success",
    "inference_sh_fails": "failed",
    "inference_sh_deadline": "failed",
    "inferable_succeeds": "success",
    "edges_succeeds": "success",
}


def _created(stack: AirflowStack) -> dict[str, int]:
    counters = stack.counters()
    return {
        "inference_sh": counters["inference_sh"]["tasks_created"],
        "inferable": counters["inferable"]["runs_created"],
        "edges": counters["edges"]["runs_created"],
        "inference_sh_cancels": counters["inference_sh"]["cancels"],
    }


def _tasks_with_text(stack: AirflowStack, text: str) -> list[dict]:
    """The emulator's inference.sh tasks created with input ``text`` (exact, whatever else runs)."""
    return [task for task in stack.emulator("GET", "/_emulator/tasks") if task["input"].get("text") == text]


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in before}


def _parse(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_triggerer_restart_keeps_every_outcome_and_deadline(stack: AirflowStack, output_dir):
    dag_id = "e2e_triggerer_restart"
    stack.wait_for_dag(dag_id)
    before = _created(stack)
    run_id = stack.trigger(dag_id)

    def all_deferred() -> bool:
        states = stack.task_states(dag_id, run_id)
        return len(states) == len(RESTART_EXPECTED) and set(states.values()) == {"deferred"}

    wait_until(all_deferred, 240, "all five tasks deferred", interval=1)
    deferred_at = time.time()
    time.sleep(12)  # the triggers poll a few times before the kill
    killed_at, restarted_at = stack.restart_triggerer()
    run = stack.wait_for_run(dag_id, run_id, timeout=600)
    tis = stack.task_instances(dag_id, run_id)

    assert {task: ti["state"] for task, ti in tis.items()} == RESTART_EXPECTED, tis
    assert run["state"] == "failed"  # two tasks fail by design
    assert all(ti["try_number"] == 1 for ti in tis.values()), "a task was retried instead of resumed"
    created = _delta(before, _created(stack))
    assert created == {"inference_sh": 3, "inferable": 1, "edges": 1, "inference_sh_cancels": 0}, created
    for text in ("survives the restart", "fails after the restart", "never ends"):
        assert len(_tasks_with_text(stack, text)) == 1, text

    # The deadline is absolute: it counts from the task's first wait, not from the restart.
    deadline_ti = tis["inference_sh_deadline"]
    started, ended = _parse(deadline_ti["start_date"]), _parse(deadline_ti["end_date"])
    print(
        f"deferred at +0 s, killed at +{killed_at - deferred_at:.1f} s, restarted at "
        f"+{restarted_at - deferred_at:.1f} s; the deadline task ran {ended - started:.1f} s "
        f"(timeout {DEADLINE} s)"
    )
    assert ended > killed_at, "the deadline task ended before the triggerer was killed"
    # A deadline reset by the restart would end no sooner than restarted_at + DEADLINE.
    assert ended < restarted_at + DEADLINE - 3, "the restart reset the deadline"
    assert ended - started >= DEADLINE, "the deadline task ended before its timeout"
    for task in ("inference_sh_succeeds", "inferable_succeeds", "edges_succeeds"):
        assert _parse(tis[task]["end_date"]) > killed_at, f"{task} ended before the kill: nothing was tested"
    manifest = stack.xcom(dag_id, run_id, "inference_sh_succeeds")
    assert manifest["status"] == "completed" and manifest["output"] == {"text": "survives the restart"}


def test_user_kill_cancels_the_remote_run_once(stack: AirflowStack):
    dag_id = "e2e_user_kill"
    stack.wait_for_dag(dag_id)
    before = _created(stack)
    run_id = stack.trigger(dag_id)
    stack.wait_for_task_state(dag_id, run_id, "killed_by_user", {"deferred"})
    time.sleep(3)
    stack.api(
        "PATCH",
        f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/killed_by_user",
        json={"new_state": "failed"},
    )
    wait_until(
        lambda: _delta(before, _created(stack))["inference_sh_cancels"] >= 1,
        60,
        "the cancel request reaching the emulator",
    )
    time.sleep(10)  # a second cancel (from a second kill path) would arrive in this window
    delta = _delta(before, _created(stack))
    assert delta["inference_sh_cancels"] == 1, delta
    remote = _tasks_with_text(stack, "the user marks me failed")
    assert len(remote) == 1, remote
    assert remote[0]["status"] == CURRENT_CODES["cancelled"], remote
    assert remote[0]["id"] == stack.xcom(dag_id, run_id, "killed_by_user", key="run_id")
    assert stack.task_states(dag_id, run_id) == {"killed_by_user": "failed"}


def test_retry_after_worker_kill_reattaches_to_the_same_run(stack: AirflowStack):
    dag_id = "e2e_retry_after_worker_kill"
    stack.wait_for_dag(dag_id)
    before = _created(stack)
    run_id = stack.trigger(dag_id)
    run = stack.wait_for_run(dag_id, run_id, timeout=400)
    ti = stack.task_instances(dag_id, run_id)["dies_then_reattaches"]
    assert run["state"] == "success" and ti["state"] == "success", (run, ti)
    assert ti["try_number"] == 2, ti
    assert _delta(before, _created(stack))["inference_sh"] == 1
    assert len(_tasks_with_text(stack, "created once")) == 1
    manifest = stack.xcom(dag_id, run_id, "dies_then_reattaches")
    assert manifest["status"] == "completed" and manifest["output"] == {"text": "created once"}, manifest
