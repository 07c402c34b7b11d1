"""RunStatusTrigger.run() for real against the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import pytest
from airflow.providers.common.compat.module_loading import import_string

from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.testing.emulator import EmulatorConfig, EmulatorServer
from airflow_provider_runs.triggers.run_status import RunStatusTrigger

from support import TEST_KEY, first_event, roundtrip

POLLS = r"^/tasks/"
"""The status reads: the shared poller's ``POST /tasks/list`` and a task's own ``GET``s."""


def make_trigger(run_id, **kwargs):
    defaults = {
        "service": "inference_sh",
        "conn_id": "inference_sh_default",
        "run_id": run_id,
        "poll_interval": 0.05,
    }
    return RunStatusTrigger(**{**defaults, **kwargs})


def create(input_, app="acme/echo@v1"):
    return InferenceShHook().run_task(app, input_)["id"]


def test_serialized_kwargs_are_primitives_without_secrets(emulator):
    trigger = make_trigger("task_1", deadline=time.time() + 60, stop_on_states=["NEEDS_ACTION"])
    path, kwargs = trigger.serialize()
    text = json.dumps(kwargs)
    assert json.loads(text) == kwargs
    assert TEST_KEY not in text and TEST_KEY not in repr(trigger)
    assert roundtrip(trigger).serialize() == (path, kwargs)
    assert kwargs["service"] == "inference_sh" and "hook_class" not in kwargs  # the name, not a class path


def old_form(path, **kwargs):
    """A trigger as the triggerer rebuilds one serialized by the previous version (hook class path,
    raw statuses in ``stop_on_states``), through JSON like the database."""
    return import_string(path)(**json.loads(json.dumps(kwargs)))


def test_trigger_serialized_by_the_previous_version_still_runs(emulator):
    task_id = create({"text": "x", "_emulator": {"duration": 0.2}})
    trigger = old_form(
        "airflow_provider_runs.triggers.run_status.RunStatusTrigger",
        hook_class="airflow_provider_runs.hooks.inference_sh.InferenceShHook",
        conn_id="inference_sh_default",
        run_id=task_id,
        poll_interval=0.05,
        deadline=time.time() + 60,
        cancel_on_kill=True,
        max_consecutive_failures=10,
        stop_on_states=[],
        hook_params={},
        run_url=f"https://app.inference.sh/tasks/{task_id}",
    )
    event = asyncio.run(first_event(trigger)).payload
    assert event["event"] == "status" and event["status"]["state"] == "SUCCEEDED"
    assert roundtrip(trigger).serialize()[1]["hook_class"].endswith(".InferenceShHook")


EDGES_KEY = "edges_trigger_key_0001"


def test_old_edges_trigger_stops_on_its_raw_status_and_ignores_unknown_names(monkeypatch, caplog, capfd):
    """``hook_class=...EdgesHook`` and ``stop_on_states=["BLOCKED", "STOPPED"]`` (raw Edges statuses,
    read as ActionNeeded reasons) from the previous version; an unknown name is logged and ignored."""
    with EmulatorServer(EmulatorConfig(edges_api_keys=[EDGES_KEY], edges_input_seconds=0.01)) as server:
        conn = {"conn_type": "edges", "host": server.service_url("edges"), "password": EDGES_KEY}
        monkeypatch.setenv("AIRFLOW_CONN_EDGES_DEFAULT", json.dumps(conn))
        handle = EdgesHook().run_async(
            "linkedin-extract-people",
            [{"linkedin_profile_url": "https://www.linkedin.com/in/person-1"}],
            parameters={"_emulator": {"block_run": True}},
            identity_mode="managed",
        )
        trigger = old_form(
            "airflow_provider_runs.triggers.run_status.RunStatusTrigger",
            hook_class="airflow_provider_runs.hooks.edges.EdgesHook",
            conn_id="edges_default",
            run_id=str(handle.get("run_uid") or handle.get("uid")),
            poll_interval=0.05,
            deadline=time.time() + 30,
            stop_on_states=["BLOCKED", "STOPPED", "NO_SUCH_CONDITION"],
        )
        event = asyncio.run(first_event(trigger)).payload
    assert event["event"] == "status", event
    assert event["status"]["state"] == "NEEDS_ACTION" and event["status"]["action"] == "BLOCKED"
    assert trigger.serialize()[1]["stop_on_states"] == ["BLOCKED", "STOPPED"]
    captured = capfd.readouterr()
    logged = captured.out + captured.err + "\n".join(r.getMessage() for r in caplog.records)
    assert logged.count("Ignoring stop_on_states entry 'NO_SUCH_CONDITION'") == 1


def test_unknown_service_gives_error_event():
    trigger = RunStatusTrigger(service="no_such_service", conn_id="c", run_id="r1", deadline=time.time() + 5)
    event = asyncio.run(first_event(trigger, timeout=10)).payload
    assert event["event"] == "error" and "no_such_service" in event["message"]


@pytest.mark.parametrize(
    ("outcome", "state", "raw"),
    [
        ("completed", "SUCCEEDED", 10),
        ("failed", "FAILED", 11),
        ("cancelled", "CANCELLED", 12),
        ("rejected", "FAILED", 13),
    ],
)
def test_each_terminal_state(emulator, outcome, state, raw):
    task_id = create({"text": outcome, "_emulator": {"outcome": outcome, "duration": 0.2}})
    event = asyncio.run(first_event(make_trigger(task_id)))
    assert event.payload["event"] == "status"
    assert event.payload["status"]["state"] == state and event.payload["status"]["raw_status"] == raw
    assert event.payload["run_id"] == task_id


def test_deadline_reached(emulator):
    task_id = create({"text": "x", "_emulator": {"outcome": "stuck"}})
    started = time.time()
    event = asyncio.run(first_event(make_trigger(task_id, deadline=time.time() + 0.5)))
    assert (
        event.payload["event"] == "timeout"
        and "did not finish before the deadline" in event.payload["message"]
    )
    assert time.time() - started < 3


def test_deadline_already_passed_is_not_reset(emulator):
    """A trigger rebuilt after a restart keeps the absolute deadline."""
    task_id = create({"text": "x", "_emulator": {"outcome": "stuck"}})
    trigger = roundtrip(make_trigger(task_id, deadline=time.time() - 1))
    event = asyncio.run(first_event(trigger))
    assert event.payload["event"] == "timeout"


def test_rides_out_429_503_and_resets(emulator):
    task_id = create({"text": "x", "_emulator": {"duration": 0.5}})
    emulator.control.add_faults(
        [
            {"path_regex": POLLS, "kind": "status", "status": 429, "retry_after": 0, "count": 2},
            {"path_regex": POLLS, "kind": "status", "status": 503, "count": 2},
            {"path_regex": POLLS, "kind": "drop", "count": 2},
        ]
    )
    event = asyncio.run(first_event(make_trigger(task_id, max_consecutive_failures=10)))
    assert event.payload["event"] == "status" and event.payload["status"]["state"] == "SUCCEEDED"
    injected = emulator.control.counters()["faults_injected"]
    assert injected["429"] >= 2 and injected["503"] >= 2 and injected["drop"] >= 2


def test_consecutive_failure_cap_gives_clear_error(emulator):
    task_id = create({"text": "x", "_emulator": {"outcome": "stuck"}})
    emulator.control.add_faults([{"path_regex": POLLS, "kind": "status", "status": 503, "count": 100}])
    event = asyncio.run(first_event(make_trigger(task_id, max_consecutive_failures=3)))
    assert event.payload["event"] == "error"
    assert "3 times in a row" in event.payload["message"] and "503" in event.payload["message"]


def test_permanent_error_ends_at_once(emulator):
    event = asyncio.run(first_event(make_trigger("task_missing")))
    assert event.payload["event"] == "error" and "404" in event.payload["message"]


def test_unknown_connection_gives_error_event(emulator):
    event = asyncio.run(first_event(make_trigger("task_1", conn_id="no_such_connection")))
    assert event.payload["event"] == "error" and "no_such_connection" in event.payload["message"]


def test_unknown_status_keeps_waiting_then_succeeds(emulator, caplog, capfd):
    task_id = create({"text": "x", "_emulator": {"status_sequence": [[42, 0.4]], "outcome": "completed"}})
    event = asyncio.run(first_event(make_trigger(task_id)))
    assert event.payload["status"]["state"] == "SUCCEEDED"
    captured = capfd.readouterr()
    logged = captured.out + captured.err + "\n".join(r.getMessage() for r in caplog.records)
    assert logged.count("does not know") == 1


def test_shared_session_per_loop(emulator):
    from airflow_provider_runs.core.http import shared_session

    async def scenario():
        first = await shared_session()
        ids = [create({"text": str(i)}) for i in range(5)]
        events = await asyncio.gather(*(first_event(make_trigger(i)) for i in ids))
        assert all(e.payload["status"]["state"] == "SUCCEEDED" for e in events)
        assert await shared_session() is first
        return first

    session = asyncio.run(scenario())
    assert session.closed  # closed when the loop shut down


async def _kill(trigger, task_id):
    task = asyncio.create_task(first_event(trigger))
    await asyncio.sleep(0.3)
    task.cancel()
    await trigger.on_kill()


@pytest.mark.parametrize("cancel_on_kill", [True, False])
def test_kill_cancels_only_when_asked(emulator, cancel_on_kill):
    task_id = create({"text": "x", "_emulator": {"outcome": "stuck"}})
    asyncio.run(_kill(make_trigger(task_id, cancel_on_kill=cancel_on_kill), task_id))
    assert emulator.control.counters()["inference_sh"]["cancels"] == (1 if cancel_on_kill else 0)


def test_on_kill_through_the_triggerer_runner(emulator, monkeypatch):
    """Airflow 3.3's TriggerRunner calls on_kill on a user-action cancel, not on shutdown."""
    runner_module = pytest.importorskip("airflow.jobs.triggerer_job_runner")
    if not hasattr(RunStatusTrigger.__mro__[1], "on_kill"):
        pytest.skip("BaseTrigger.on_kill needs Airflow 3.3")
    monkeypatch.setenv("AIRFLOW_DISABLE_GREENBACK_PORTAL", "true")
    task_id = create({"text": "x", "_emulator": {"outcome": "stuck"}})
    trigger = make_trigger(task_id, cancel_on_kill=True)

    async def scenario():
        runner = runner_module.TriggerRunner()
        t = asyncio.create_task(runner.run_trigger(1, trigger))
        runner.triggers[1] = {"task": t, "is_watcher": False, "name": "x", "events": 0}
        await asyncio.sleep(0.3)
        t.cancel("__airflow_user_action__")
        with contextlib.suppress(asyncio.CancelledError):
            await t

    asyncio.run(scenario())
    assert emulator.control.counters()["inference_sh"]["cancels"] == 1
