"""Resume and continue an Edges run from a DAG, against the emulator: once across retries (the task
state store's note), in the worker and deferred, with the bad input refused before any call."""

from __future__ import annotations

import time

import pytest

from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.operators.edges_run_actions import NOTE_KEY, EdgesRunActionOperator
from airflow_provider_runs.validation import InvalidArgumentError
from airflow_provider_runs.waiting.errors import RunFailedError, RunFailedNoRetryError

from support import FakeStateStore, at_any_push, make_context, run_deferrable

PATHS = ["deferrable", "worker"]
PROFILE = "https://www.linkedin.com/in/person-{}"


def counters(edges_emulator) -> dict:
    return edges_emulator.control.counters()["edges"]


def calls(edges_emulator, verb: str) -> int:
    """``POST .../{verb}`` requests the emulator answered."""
    return sum(
        n
        for route, n in counters(edges_emulator)["requests"].items()
        if route.startswith("POST") and route.endswith(f"/{verb}")
    )


def launch(action: str = "linkedin-extract-people", **parameters) -> str:
    inputs = [{"linkedin_profile_url": PROFILE.format(i)} for i in range(3)]
    return str(EdgesHook().run_async(action, inputs, parameters=parameters)["run_uid"])


def until(uid: str, *statuses: str, seconds: float = 10.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        run = EdgesHook().get_run(uid)
        if run["status"] in statuses or time.monotonic() > deadline:
            assert run["status"] in statuses, run["status"]
            return run
        time.sleep(0.02)


def blocked_run(**scenario) -> str:
    uid = launch(_emulator={"block_run": True, **scenario})
    until(uid, "BLOCKED")
    return uid


def incremental_run() -> str:
    uid = launch("linkedin-extract-connections", sync_mode="incremental")
    until(uid, "SUCCEEDED")
    return uid


def operator(uid: str, **kwargs) -> EdgesRunActionOperator:
    args = {"task_id": "act", "run_uid": uid, "poll_interval": 0.05, "timeout": 30}
    return EdgesRunActionOperator(**{**args, **kwargs})


def run(op, path, ctx=None):
    ctx = ctx or make_context(1, FakeStateStore())
    op.deferrable = path == "deferrable"
    return run_deferrable(op, ctx) if op.deferrable else op.execute(ctx)


# -- resume ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_resume_a_blocked_run_and_wait_for_it(edges_emulator, path):
    uid = blocked_run()
    manifest = run(operator(uid), path)
    assert manifest["status"] == "SUCCEEDED" and manifest["sent"] and manifest["run_id"] == uid
    assert counters(edges_emulator)["resumes"] == 1
    assert manifest["url"].endswith(uid)


def test_resume_without_waiting(edges_emulator):
    uid = blocked_run()
    manifest = operator(uid, wait_for_completion=False).execute(make_context(1, FakeStateStore()))
    assert manifest["sent"] and counters(edges_emulator)["resumes"] == 1


@pytest.mark.parametrize("store", [True, False], ids=["state-store", "no-state-store"])
def test_a_retry_does_not_resume_twice(edges_emulator, store):
    """The first try resumes, then dies at its first XCom push; the run is BLOCKED again by the
    time the retry starts (``block_again``): only the note tells the retry its resume landed."""
    uid = blocked_run(block_again=True)
    shared = FakeStateStore() if store else None
    with pytest.raises(SystemExit):
        operator(uid).execute(make_context(1, shared, crash_on=at_any_push))
    assert counters(edges_emulator)["resumes"] == 1
    until(uid, "BLOCKED")
    op = operator(uid, wait_for_completion=False)
    manifest = op.execute(make_context(2, shared))
    if store:
        assert not manifest["sent"] and counters(edges_emulator)["resumes"] == 1
        assert shared.data[NOTE_KEY]["done"]
    else:  # without a store (Airflow < 3.3) a run BLOCKED again reads as a new pause
        assert manifest["sent"] and counters(edges_emulator)["resumes"] == 2


def test_a_retry_after_an_unconfirmed_resume_reads_the_run(edges_emulator):
    """The note says "about to send" (the try died before marking it sent): the run moved, so the
    resume landed and is not sent again, though the run is BLOCKED again by then."""
    uid = blocked_run(block_again=True)
    store = FakeStateStore()
    before = EdgesHook().get_run(uid)
    EdgesHook().resume_run(uid)
    until(uid, "RUNNING")
    until(uid, "BLOCKED")
    store.set(
        NOTE_KEY,
        {
            "run_uid": uid,
            "operation": "resume",
            "before": {"status": before["status"], "updated_at": before["updated_at"]},
            "sent": False,
        },
    )
    manifest = operator(uid, wait_for_completion=False).execute(make_context(2, store))
    assert not manifest["sent"] and counters(edges_emulator)["resumes"] == 1


def test_a_cleared_success_resumes_again(edges_emulator):
    uid = blocked_run(block_again=True)
    store = FakeStateStore()
    assert operator(uid, wait_for_completion=False).execute(make_context(1, store))["sent"]
    until(uid, "BLOCKED")
    assert operator(uid, wait_for_completion=False).execute(make_context(2, store))["sent"]
    assert counters(edges_emulator)["resumes"] == 2


def test_a_running_run_needs_no_resume(edges_emulator):
    uid = launch(_emulator={"duration": 30})
    manifest = operator(uid, wait_for_completion=False).execute(make_context(1, FakeStateStore()))
    assert not manifest["sent"] and calls(edges_emulator, "resume") == 0


def test_resuming_a_failed_run_fails_without_retrying(edges_emulator):
    uid = launch(_emulator={"final_status": "FAILED"})
    until(uid, "FAILED")
    with pytest.raises(RunFailedNoRetryError, match="is FAILED; resume applies to runs in BLOCKED, STOPPED"):
        operator(uid).execute(make_context(1, FakeStateStore()))
    assert calls(edges_emulator, "resume") == 0


@pytest.mark.parametrize("path", PATHS)
def test_blocked_again_follows_on_needs_action(edges_emulator, path):
    uid = blocked_run(block_again=True)
    with pytest.raises(RunFailedError, match="is BLOCKED"):
        run(operator(uid), path)


# -- continue -------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_continue_an_incremental_run(edges_emulator, path):
    uid = incremental_run()
    manifest = run(operator(uid, operation="continue"), path)
    assert manifest["status"] == "SUCCEEDED" and manifest["sent"] and calls(edges_emulator, "continue") == 1


def test_a_retry_does_not_continue_twice_even_after_the_run_ended_again(edges_emulator):
    uid = incremental_run()
    store = FakeStateStore()
    with pytest.raises(SystemExit):
        operator(uid, operation="continue").execute(make_context(1, store, crash_on=at_any_push))
    until(uid, "SUCCEEDED")  # the continued pass ended before the retry: continuable again
    manifest = operator(uid, operation="continue").execute(make_context(2, store))
    assert manifest["status"] == "SUCCEEDED" and not manifest["sent"]
    assert calls(edges_emulator, "continue") == 1


def test_continue_of_a_run_that_is_not_incremental_is_refused_by_edges(edges_emulator):
    uid = launch()
    until(uid, "SUCCEEDED")
    with pytest.raises(Exception, match="only incremental runs can be continued"):
        operator(uid, operation="continue").execute(make_context(1, FakeStateStore()))


# -- arguments ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run_uid": ""}, "run_uid must be a non-empty string"),
        ({"run_uid": "a,b"}, "one run, not a run group"),
        ({"run_uid": "../x"}, "run_uid"),
        ({"operation": "restart"}, "operation must be resume or continue"),
    ],
)
def test_bad_arguments_fail_before_any_call(edges_emulator, kwargs, message):
    uid = kwargs.pop("run_uid", "r1")
    with pytest.raises(InvalidArgumentError, match=message):
        operator(uid, **kwargs).execute(make_context())
    assert sum(counters(edges_emulator)["requests"].values()) == 0


def test_templated_fields():
    assert {"run_uid", "operation", "edges_conn_id"} <= set(EdgesRunActionOperator.template_fields)
