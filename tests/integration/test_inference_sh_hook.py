"""InferenceShHook against the emulator: real HTTP, sync and async."""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_provider_runs.core.errors import (
    AmbiguousWriteError,
    AuthError,
    GoneError,
    NotFoundError,
    RateLimitedError,
    TransientError,
)
from airflow_provider_runs.core.retry import NO_RETRY, RetryPolicy
from airflow_provider_runs.core.states import RunState
from airflow_provider_runs.hooks.inference_sh import InferenceShHook

from support import TEST_KEY

FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05)


def wait_terminal(hook, task_id, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        status = hook.get_status(task_id)
        if status.state.is_terminal:
            return status
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not end")


def test_run_get_status_and_output(emulator):
    hook = InferenceShHook()
    task = hook.run_task("acme/echo@v1", {"text": "hi"})
    assert task["id"] and task["status"] in (1, 2)
    status = wait_terminal(hook, task["id"])
    assert status.state is RunState.SUCCEEDED and status.raw_status == 10
    full = hook.get_task(task["id"])
    assert full["output"]["text"] == "hi"
    assert hook.get_task_status(task["id"])["status"] == 10


def test_every_field_is_sent(emulator):
    hook = InferenceShHook()
    task = hook.run_task(
        "acme/echo@v1",
        {"text": "x"},
        setup={"model": "small"},
        infra="cloud",
        webhook=emulator.url + "/_emulator/webhooks/sink",
        session="new",
        session_timeout=120,
        function="run",
    )
    full = hook.get_task(task["id"])
    assert full["setup"] == {"model": "small"} and full["infra"] == "cloud"
    assert full["session_id"]


def test_async_methods(emulator):
    async def scenario():
        hook = InferenceShHook(retry=FAST_RETRY)
        task = await hook.arun_task("acme/echo@v1", {"text": "async"})
        for _ in range(200):
            status = await hook.aget_status(task["id"])
            if status.state.is_terminal:
                break
            await asyncio.sleep(0.05)
        assert status.state is RunState.SUCCEEDED
        assert (await hook.aget_task(task["id"]))["output"] == {"text": "async"}
        page = await hook.alist_tasks(limit=5)
        assert any(item["id"] == task["id"] for item in page["items"])

    asyncio.run(scenario())


def test_cancel_and_cancel_of_finished(emulator):
    hook = InferenceShHook()
    task = hook.run_task("acme/slow@v1", {"text": "long"})
    hook.cancel_task(task["id"])
    assert wait_terminal(hook, task["id"]).state is RunState.CANCELLED
    again = hook.cancel_task(task["id"])  # 409 on a finished task is "already final"
    assert again["id"] == task["id"]
    assert emulator.control.counters()["inference_sh"]["cancels"] >= 1


def test_list_iterates_all_pages(emulator):
    hook = InferenceShHook()
    ids = {hook.run_task("acme/echo@v1", {"text": f"n{i}"})["id"] for i in range(7)}
    seen = [t["id"] for t in hook.iter_tasks(page_size=3)]
    assert ids <= set(seen) and len(seen) == len(set(seen))


def test_find_task_by_input(emulator):
    hook = InferenceShHook()
    hook.run_task("acme/echo@v1", {"text": "other"})
    mine = hook.run_task("acme/echo@v1", {"text": "mine", "n": 1})
    found = hook.find_task({"text": "mine", "n": 1}, app="acme/echo@v1")
    assert found["id"] == mine["id"]
    assert hook.find_task({"text": "nobody"}) is None


def test_wrong_key_is_401_without_the_key(emulator):
    hook = InferenceShHook("inference_sh_wrong_key")
    with pytest.raises(AuthError) as err:
        hook.run_task("acme/echo@v1", {"text": "x"})
    assert err.value.status_code == 401
    assert "inf_wrong_key_0000" not in str(err.value)
    ok, message = hook.test_connection()
    assert not ok and "401" in message


def test_test_connection_ok(emulator):
    assert InferenceShHook().test_connection()[0]


def test_unknown_app_and_task(emulator):
    hook = InferenceShHook()
    with pytest.raises(NotFoundError) as err:
        hook.run_task("acme/nothing@v1", {"text": "x"})
    assert err.value.code == "not_found"
    with pytest.raises(NotFoundError):
        hook.get_task("task_does_not_exist")


def test_expired_session_is_410(emulator):
    hook = InferenceShHook()
    first = hook.run_task("acme/counter@v1", {"label": "a"}, session="new", session_timeout=5)
    session_id = hook.get_task(first["id"])["session_id"]
    wait_terminal(hook, first["id"])
    emulator.control.advance(30)
    with pytest.raises(GoneError) as err:
        hook.run_task("acme/counter@v1", {"label": "b"}, session=session_id)
    assert err.value.code == "SESSION_EXPIRED" and err.value.status_code == 410


def test_reads_ride_out_429_and_503(emulator):
    hook = InferenceShHook(retry=FAST_RETRY)
    task = hook.run_task("acme/echo@v1", {"text": "x"})
    emulator.control.add_faults(
        [
            {
                "service": "inference_sh",
                "method": "GET",
                "kind": "status",
                "status": 429,
                "retry_after": 0,
                "count": 1,
            },
            {"service": "inference_sh", "method": "GET", "kind": "status", "status": 503, "count": 1},
        ]
    )
    assert hook.get_task(task["id"])["id"] == task["id"]


def test_429_without_retries_surfaces_retry_after(emulator):
    hook = InferenceShHook(retry=NO_RETRY)
    task = hook.run_task("acme/echo@v1", {"text": "x"})
    emulator.control.add_faults(
        [{"method": "GET", "kind": "status", "status": 429, "retry_after": 7, "count": 1}]
    )
    with pytest.raises(RateLimitedError) as err:
        hook.get_task(task["id"])
    assert err.value.retry_after == 7


def test_reads_ride_out_dropped_connections(emulator):
    hook = InferenceShHook(retry=FAST_RETRY)
    task = hook.run_task("acme/echo@v1", {"text": "x"})
    emulator.control.add_faults([{"method": "GET", "kind": "drop", "count": 2}])
    assert hook.get_task(task["id"])["id"] == task["id"]


def test_create_is_not_retried_after_it_may_have_landed(emulator):
    hook = InferenceShHook(retry=FAST_RETRY)
    emulator.control.add_faults(
        [{"method": "POST", "path_regex": "/run$", "kind": "drop", "phase": "after", "count": 1}]
    )
    with pytest.raises(AmbiguousWriteError):
        hook.run_task("acme/echo@v1", {"text": "landed"})
    assert emulator.control.counters()["inference_sh"]["tasks_created"] == 1


def test_create_is_retried_after_a_429(emulator):
    hook = InferenceShHook(retry=FAST_RETRY)
    emulator.control.add_faults(
        [{"method": "POST", "kind": "status", "status": 429, "retry_after": 0, "count": 1}]
    )
    hook.run_task("acme/echo@v1", {"text": "x"})
    assert emulator.control.counters()["inference_sh"]["tasks_created"] == 1


def test_create_503_is_ambiguous(emulator):
    hook = InferenceShHook(retry=FAST_RETRY)
    emulator.control.add_faults([{"method": "POST", "kind": "status", "status": 503, "count": 1}])
    with pytest.raises(TransientError):
        hook.run_task("acme/echo@v1", {"text": "x"})


def test_key_is_never_in_errors(emulator):
    hook = InferenceShHook(retry=NO_RETRY)
    emulator.control.add_faults([{"kind": "status", "status": 500, "count": 1}])
    with pytest.raises(TransientError) as err:
        hook.get_task("task_x")
    assert TEST_KEY not in str(err.value) and TEST_KEY not in repr(err.value)
    assert TEST_KEY not in repr(hook) and TEST_KEY not in repr(hook.settings)
