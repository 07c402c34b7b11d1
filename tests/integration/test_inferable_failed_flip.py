"""Inferable's transient ``failed`` (specs/inferable.md §3, transition 7), against the emulator: a
run that reports ``failed`` and goes back to ``running`` ends in success; a ``failed`` that holds
past ``failed_grace`` fails the task with the service's message; the hold never moves the deadline.
Both paths (worker and deferrable) and the sensor."""

from __future__ import annotations

import time

import pytest

from airflow_provider_runs.hooks.inferable import InferableHook
from airflow_provider_runs.operators.base import RunFailedError
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.sensors.inferable import InferableRunSensor
from airflow_provider_runs.testing.emulator.inferable_api import DEFAULT_CLUSTER
from airflow_provider_runs.testing.emulator.inferable_api.runs import TRANSIENT_REASON

from support import make_context, run_deferrable

KEY = "sk_inf_flip_key_0000000000000000000000000000"
PATHS = ["deferrable", "worker"]
STEP = 0.1
FLIP = {"transient_failures": 2, "transient_failed_seconds": 0.4}
"""Two transient ``failed`` of 0.4 s each, then ``done``."""


@pytest.fixture(scope="module")
def inferable_server(emulator_factory):
    return emulator_factory(inferable_clusters={DEFAULT_CLUSTER: [KEY]}, inferable_step_seconds=STEP)


@pytest.fixture
def emu(inferable_server, monkeypatch):
    server = inferable_server
    yield from server.fresh(
        monkeypatch, inferable_default=server.connection("inferable", KEY, cluster_id=DEFAULT_CLUSTER)
    )


def operator(**kwargs):
    defaults = {
        "task_id": "agent",
        "initial_prompt": "Count open tickets",
        "poll_interval": 0.05,
        "timeout": 30,
    }
    return InferableRunOperator(**{**defaults, **kwargs})


def context():
    return make_context(1, None, dag_id="dag", run_id="manual__2026-12-01")


def run(task, path):
    task.deferrable = path == "deferrable"
    ctx = context()
    return run_deferrable(task, ctx) if task.deferrable else task.execute(ctx)


def seen_statuses(run_id: str, seconds: float) -> list[str]:
    """The statuses a run reports over ``seconds`` (read through the hook, every 50 ms)."""
    hook, seen = InferableHook(), []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status = hook.get_run(run_id)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        time.sleep(0.05)
    return seen


def test_the_emulator_flips_failed_back_to_running(emu):
    """The scenario is real: the run says ``failed`` (with its reason), then ``running``, then ``done``."""
    run_id = operator(context={"_emulator": FLIP}, wait_for_completion=False).execute(context())["run_id"]
    hook = InferableHook()
    seen, reasons = [], set()
    end = time.monotonic() + 3.0
    while time.monotonic() < end and (not seen or seen[-1] != "done"):
        run = hook.get_run(run_id)
        if not seen or seen[-1] != run["status"]:
            seen.append(run["status"])
        if run["status"] == "failed":
            reasons.add(run["failureReason"])
        time.sleep(0.03)
    assert seen[-5:] == ["failed", "running", "failed", "running", "done"]
    assert reasons == {TRANSIENT_REASON}


def test_the_flip_is_off_by_default(emu):
    run_id = operator(wait_for_completion=False).execute(context())["run_id"]
    assert "failed" not in seen_statuses(run_id, 0.8)


@pytest.mark.parametrize("path", PATHS)
def test_a_flip_back_to_running_ends_in_success(emu, path, capsys):
    manifest = run(operator(context={"_emulator": FLIP}, failed_grace=1.5), path)
    assert manifest["status"] == "done"
    if path == "worker":  # the task log says it held the failed (the trigger logs in the triggerer)
        out = capsys.readouterr().out
        assert out.count("the service may take it back") == 2 and "is 'running' again" in out


@pytest.mark.parametrize("path", PATHS)
def test_without_a_hold_the_transient_failed_fails_the_task(emu, path):
    """What the hold prevents (and proof the flip scenario bites): ``failed_grace=0``."""
    with pytest.raises(RunFailedError, match="model provider answered 503"):
        run(operator(context={"_emulator": FLIP}, failed_grace=0), path)


@pytest.mark.parametrize("path", PATHS)
def test_a_failed_that_holds_past_the_grace_fails_with_the_service_message(emu, path):
    scenario = {"outcome": "failed", "failure_reason": "Maximum Run message length exceeded."}
    started = time.monotonic()
    with pytest.raises(
        RunFailedError, match=r"failed \(status 'failed'\): Maximum Run message length exceeded\..*Run: http"
    ):
        run(operator(context={"_emulator": scenario}, failed_grace=0.6), path)
    assert time.monotonic() - started >= 0.6  # it held the grace before believing the failed


@pytest.mark.parametrize("path", PATHS)
def test_the_hold_does_not_move_the_deadline(emu, path):
    """A grace longer than the time left: the task ends at the deadline, with the run's failure."""
    scenario = {"outcome": "failed", "failure_reason": "Detected cycle in Run."}
    task = operator(context={"_emulator": scenario}, failed_grace=60, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(RunFailedError, match=r"Detected cycle in Run\."):
        run(task, path)
    took = time.monotonic() - started
    assert 1.0 <= took < 10  # the deadline (1.5 s after the wait began), not the 60 s grace
    assert task.try_deadline() is not None


@pytest.mark.parametrize("path", PATHS)
def test_the_sensor_holds_too(emu, path):
    run_id = operator(context={"_emulator": FLIP}, wait_for_completion=False).execute(context())["run_id"]
    sensor = InferableRunSensor(
        task_id="watch", run_id=run_id, poll_interval=0.05, timeout=30, failed_grace=1.5,
        deferrable=path == "deferrable",
    )  # fmt: skip
    ctx = context()
    result = run_deferrable(sensor, ctx) if sensor.deferrable else sensor.execute(ctx)
    assert result["status"] == "done"
