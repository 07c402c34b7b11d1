"""``on_cancelled``: a run cancelled while the task waits fails the task (default) or skips it
(``on_cancelled="skip"``), on both paths, against the emulator.

Only inference.sh runs can end ``CANCELLED`` (``POST /tasks/{id}/cancel``): Edges and Inferable
have no run-cancel endpoint and no cancelled status (an Edges run stopped by hand is ``STOPPED``,
resumable, answered by ``on_needs_action``; a deleted Inferable run is gone: 404). Their tasks take
the argument and keep their outcome, which the last tests pin down.
"""

from __future__ import annotations

import threading
import time

import pytest
from airflow.providers.common.compat.sdk import AirflowSkipException

from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.operators.base import RunFailedError
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator
from airflow_provider_runs.sensors.inference_sh import InferenceShTaskSensor
from airflow_provider_runs.testing.emulator.inferable_api import DEFAULT_CLUSTER

from support import TEST_KEY, make_context, run_deferrable

PATHS = ["deferrable", "worker"]
STUCK = {"text": "x", "_emulator": {"outcome": "stuck"}}
"""An inference.sh task that runs until someone cancels it."""


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(
        inference_sh_api_keys=[TEST_KEY], default_task_duration=0.3, edges_input_seconds=0.01,
        inferable_step_seconds=0.1,
    )  # fmt: skip


@pytest.fixture
def emu(server, monkeypatch):
    yield from server.fresh(
        monkeypatch,
        inference_sh_default=server.connection("inference_sh"),
        edges_default=server.connection("edges", identity_mode="managed"),
        inferable_default=server.connection("inferable", cluster_id=DEFAULT_CLUSTER),
    )


def context():
    return make_context(1, None, dag_id="dag", run_id="manual__1")


def cancel_when_published(ctx, cancel) -> threading.Thread:
    """Cancel the run once the task published its id (it then waits), from another thread."""

    def work() -> None:
        deadline = time.monotonic() + 20
        while "run_id" not in ctx["ti"].xcoms and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # the task is waiting now
        cancel(ctx["ti"].xcoms["run_id"])

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def run(task, path, ctx):
    task.deferrable = path == "deferrable"
    return run_deferrable(task, ctx) if task.deferrable else task.execute(ctx)


def inference_sh(**kwargs):
    defaults = {"task_id": "t", "app": "acme/echo@v1", "input": STUCK, "poll_interval": 0.05, "timeout": 30}
    return InferenceShTaskOperator(**{**defaults, **kwargs})


@pytest.mark.parametrize("path", PATHS)
def test_inference_sh_cancelled_run_skips_the_task_when_asked(emu, path):
    ctx = context()
    thread = cancel_when_published(ctx, InferenceShHook().cancel_run)
    with pytest.raises(
        AirflowSkipException, match=r"was cancelled .*on_cancelled='skip'.*Run: http.*/tasks/task"
    ):
        run(inference_sh(on_cancelled="skip"), path, ctx)
    thread.join()
    assert emu.control.counters()["inference_sh"]["cancels"] == 1


@pytest.mark.parametrize("path", PATHS)
def test_inference_sh_cancelled_run_fails_the_task_by_default(emu, path):
    ctx = context()
    thread = cancel_when_published(ctx, InferenceShHook().cancel_run)
    with pytest.raises(RunFailedError, match=r"was cancelled") as err:
        run(inference_sh(), path, ctx)
    thread.join()
    assert not isinstance(err.value, AirflowSkipException)


@pytest.mark.parametrize("path", PATHS)
def test_inference_sh_sensor_skips_a_cancelled_run_when_asked(emu, path):
    task_id = inference_sh(wait_for_completion=False).execute(context())["run_id"]
    ctx = context()
    sensor = InferenceShTaskSensor(task_id="watch", run_id=task_id, poll_interval=0.05, timeout=30,
                                   on_cancelled="skip")  # fmt: skip
    thread = cancel_when_published(ctx, InferenceShHook().cancel_run)
    with pytest.raises(AirflowSkipException, match="on_cancelled='skip'"):
        run(sensor, path, ctx)
    thread.join()


def test_a_successful_run_is_not_skipped(emu):
    assert inference_sh(input={"text": "ok"}, on_cancelled="skip").execute(context())["status"] == "completed"


def test_on_cancelled_is_checked_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="on_cancelled must be one of fail, skip; got 'ignore'"):
        inference_sh(on_cancelled="ignore")
    with pytest.raises(ValueError, match="on_cancelled must be one of"):
        InferenceShTaskSensor(task_id="s", run_id="task_1", on_cancelled="maybe")


def test_edges_has_no_cancelled_run_a_stopped_one_follows_on_needs_action(emu):
    """Edges cannot cancel a run; a run stopped by hand is STOPPED (resumable), not CANCELLED."""
    task = EdgesActionOperator(
        task_id="enrich", action="linkedin-extract-people", inputs=[{"linkedin_profile_url": "https://x/1"}],
        parameters={"_emulator": {"stop_run": True}}, poll_interval=0.05, timeout=30, on_cancelled="skip",
    )  # fmt: skip
    with pytest.raises(RunFailedError, match="is STOPPED"):
        task.execute(context())


def test_inferable_has_no_cancelled_run_a_deleted_one_is_gone(emu):
    """Inferable cannot cancel a run; a run deleted while the task waits fails it (404), never skips."""
    ctx = context()
    task = InferableRunOperator(
        task_id="agent", initial_prompt="Count", context={"_emulator": {"outcome": "stuck"}},
        poll_interval=0.05, timeout=30, on_cancelled="skip",
    )  # fmt: skip
    client = emu.client("inferable", prefix=f"/clusters/{DEFAULT_CLUSTER}")
    thread = cancel_when_published(ctx, lambda run_id: client("DELETE", f"/runs/{run_id}").raise_for_status())
    with pytest.raises(RunFailedError, match=r"not found|404") as err:
        task.execute(ctx)
    thread.join()
    assert not isinstance(err.value, AirflowSkipException)
