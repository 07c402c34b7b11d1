"""InferenceShTaskOperator and InferenceShTaskSensor end to end against the emulator.

Each status row goes through both paths (deferrable: execute -> trigger -> execute_complete;
worker: execute polls) and must give the same outcome and the same manifest.
"""

from __future__ import annotations

import logging

import pytest

from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.operators.base import RunFailedError
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator
from airflow_provider_runs.sensors.inference_sh import InferenceShTaskSensor

from support import TEST_KEY, FakeStateStore, crash_at_run_id, make_context, run_deferrable

PATHS = ["deferrable", "worker"]


def operator(**kwargs):
    defaults = {"task_id": "t", "app": "acme/echo@v1", "input": {"text": "hi"}, "poll_interval": 0.05}
    return InferenceShTaskOperator(**{**defaults, **kwargs})


def run(op, path, context=None):
    context = context or make_context()
    op.deferrable = path == "deferrable"
    return run_deferrable(op, context) if op.deferrable else op.execute(context)


def comparable(manifest):
    return {k: v for k, v in manifest.items() if k not in ("run_id", "task_id", "url")}


@pytest.mark.parametrize("path", PATHS)
def test_success_manifest(emulator, path):
    context = make_context()
    manifest = run(operator(input={"text": "hello"}), path, context)
    assert manifest["status"] == "completed" and manifest["output"] == {"text": "hello"}
    assert manifest["task_id"].startswith("task") and manifest["url"].endswith(manifest["task_id"])
    assert context["ti"].xcoms["run_id"] == manifest["task_id"]
    assert context["ti"].xcoms["run_url"] == manifest["url"]


def test_both_paths_give_the_same_manifest(emulator):
    manifests = [run(operator(input={"text": "same"}), path) for path in PATHS]
    assert comparable(manifests[0]) == comparable(manifests[1])


TERMINAL_ROWS = [
    ("completed", None),
    ("failed", "failed"),
    ("cancelled", "was cancelled"),
    ("rejected", "failed"),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("outcome", "failure"), TERMINAL_ROWS)
def test_terminal_rows_current_numbering(emulator, path, outcome, failure):
    scenario = {"outcome": outcome, "duration": 0.2, "error": "model exploded"}
    op = operator(input={"text": outcome, "_emulator": scenario})
    if failure is None:
        assert run(op, path)["status"] == "completed"
        return
    with pytest.raises(RunFailedError) as err:
        run(op, path)
    text = str(err.value)
    assert failure in text and "/tasks/task" in text
    if outcome == "failed":
        assert "model exploded" in text


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("code", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
def test_non_terminal_codes_keep_waiting_until_the_deadline(emulator, path, code):
    op = operator(
        input={"text": "x", "_emulator": {"status_sequence": [[code, 60]], "outcome": "stuck"}}, timeout=0.6
    )
    with pytest.raises(RunFailedError, match=rf"did not finish before the deadline; last status {code}\b"):
        run(op, path)


@pytest.mark.parametrize("path", PATHS)
def test_unknown_code_keeps_waiting_then_succeeds(emulator, path):
    op = operator(input={"text": "x", "_emulator": {"status_sequence": [[77, 0.3]], "outcome": "completed"}})
    assert run(op, path)["status"] == "completed"


@pytest.mark.parametrize("path", PATHS)
def test_output_written_to_a_file(emulator, path, tmp_path):
    target = tmp_path / "out" / "result.json"
    manifest = run(operator(input={"text": "to file"}, output_path=str(target)), path)
    assert manifest["output_path"] == str(target) and "output" not in manifest
    assert target.read_text() == '{"text": "to file"}'


@pytest.mark.parametrize("path", PATHS)
def test_no_wait_returns_right_after_create(emulator, path):
    manifest = run(
        operator(wait_for_completion=False, input={"text": "x", "_emulator": {"outcome": "stuck"}}), path
    )
    assert manifest["task_id"] and manifest["status"] in (1, 2, 3)


@pytest.mark.parametrize("path", PATHS)
def test_session_chains_across_tasks(emulator, path):
    first = run(
        operator(app="acme/counter@v1", input={"label": "a"}, session="new", session_timeout=60), path
    )
    second = run(operator(app="acme/counter@v1", input={"label": "b"}, session=first["session_id"]), path)
    assert first["session_id"] and second["session_id"] == first["session_id"]
    assert first["output"] != second["output"]


# -- retries never create a second task -------------------------------------------------------
class CrashOnRecordStore(FakeStateStore):
    """A worker that dies between the create call and recording the run id."""

    def set(self, key, value, *, retention=None):
        if value.get("run_id"):
            raise SystemExit("worker killed")
        super().set(key, value, retention=retention)


def tasks_created(emulator):
    return emulator.control.counters()["inference_sh"]["tasks_created"]


@pytest.mark.parametrize("path", PATHS)
def test_retry_after_crash_reattaches_with_state_store(emulator, path):
    store = FakeStateStore()
    op = operator(input={"text": "once", "_emulator": {"duration": 0.5}})
    with pytest.raises(SystemExit):
        op.execute(make_context(1, store, crash_on=crash_at_run_id))
    manifest = run(
        operator(input={"text": "once", "_emulator": {"duration": 0.5}}), path, make_context(2, store)
    )
    assert manifest["output"]["text"] == "once"
    assert tasks_created(emulator) == 1


@pytest.mark.parametrize("path", PATHS)
def test_retry_after_crash_before_recording_the_id(emulator, path):
    crashing = CrashOnRecordStore()
    with pytest.raises(SystemExit):
        operator(input={"text": "twice?"}).execute(make_context(1, crashing))
    store = FakeStateStore()
    store.data.update(crashing.data)  # what the store kept: "submitting", no run id
    manifest = run(operator(input={"text": "twice?"}), path, make_context(2, store))
    assert manifest["output"]["text"] == "twice?"
    assert tasks_created(emulator) == 1


@pytest.mark.parametrize("path", PATHS)
def test_retry_without_state_store_finds_the_task_at_the_service(emulator, path):
    """Airflow < 3.3 has no task state store: the task is found by listing."""
    with pytest.raises(SystemExit):
        operator(input={"text": "listed"}).execute(make_context(1, crash_on=crash_at_run_id))
    manifest = run(operator(input={"text": "listed"}), path, make_context(2))
    assert manifest["output"]["text"] == "listed"
    assert tasks_created(emulator) == 1


@pytest.mark.parametrize("path", PATHS)
def test_create_that_timed_out_after_landing_is_not_repeated(emulator, path):
    emulator.control.add_faults(
        [{"method": "POST", "path_regex": "/run$", "kind": "drop", "phase": "after", "count": 1}]
    )
    manifest = run(operator(input={"text": "ambiguous"}), path, make_context(1, FakeStateStore()))
    assert manifest["output"]["text"] == "ambiguous"
    assert tasks_created(emulator) == 1


@pytest.mark.parametrize("path", PATHS)
def test_clear_after_success_starts_a_new_run(emulator, path):
    store = FakeStateStore()
    first = run(operator(input={"text": "again"}), path, make_context(1, store))
    second = run(operator(input={"text": "again"}), path, make_context(2, store))
    assert first["task_id"] != second["task_id"]
    assert tasks_created(emulator) == 2


def test_failed_earlier_run_is_not_reattached(emulator):
    store = FakeStateStore()
    with pytest.raises(RunFailedError):
        run(
            operator(input={"text": "f", "_emulator": {"outcome": "failed"}}),
            "worker",
            make_context(1, store),
        )
    with pytest.raises(RunFailedError):
        run(
            operator(input={"text": "f", "_emulator": {"outcome": "failed"}}),
            "worker",
            make_context(2, store),
        )
    assert tasks_created(emulator) == 2


# -- the sensor -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("outcome", "ok"), [("completed", True), ("failed", False), ("cancelled", False)])
def test_sensor(emulator, path, outcome, ok):
    task_id = InferenceShHook().run_task(
        "acme/echo@v1", {"text": "s", "_emulator": {"outcome": outcome, "duration": 0.3}}
    )["id"]
    sensor = InferenceShTaskSensor(
        task_id="watch", run_id=task_id, poll_interval=0.05, deferrable=path == "deferrable"
    )
    context = make_context()
    if ok:
        # both paths return the manifest (poke mode through PokeReturnValue's xcom_value)
        result = run_deferrable(sensor, context) if sensor.deferrable else sensor.execute(context)
        assert result == {
            "run_id": task_id,
            "task_id": task_id,
            "status": "completed",
            "app": "app_acme_echo",  # the task's app id
            "session_id": None,
            "url": InferenceShHook().run_url(task_id),
            "output": {"text": "s"},
        }, result
    else:
        with pytest.raises(RunFailedError):
            run_deferrable(sensor, context) if sensor.deferrable else sensor.execute(context)


# -- kill -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cancel_on_kill", [True, False])
def test_worker_on_kill(emulator, cancel_on_kill):
    op = operator(
        input={"text": "k", "_emulator": {"outcome": "stuck"}},
        cancel_on_kill=cancel_on_kill,
        wait_for_completion=False,
    )
    op.execute(make_context())
    op.on_kill()
    assert emulator.control.counters()["inference_sh"]["cancels"] == (1 if cancel_on_kill else 0)


# -- the key never leaks ----------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_key_never_leaks(emulator, path, caplog):
    caplog.set_level(logging.DEBUG)
    context = make_context(1, FakeStateStore())
    manifest = run(operator(input={"text": "secret?"}), path, context)
    assert TEST_KEY not in repr(manifest) and TEST_KEY not in repr(context["ti"].xcoms)
    assert TEST_KEY not in repr(context["task_state_store"].data)
    failing = operator(inference_sh_conn_id="inference_sh_wrong_key")
    with pytest.raises(Exception) as err:
        run(failing, path)
    assert TEST_KEY not in str(err.value) and "inf_wrong_key_0000" not in str(err.value)
    assert TEST_KEY not in caplog.text and "inf_wrong_key_0000" not in caplog.text
