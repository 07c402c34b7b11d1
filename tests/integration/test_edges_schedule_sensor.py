"""The Edges schedule sensor against the emulator: it defers at once, polls with one narrow
``GET /runs`` per poll, finds the schedule's next run, then waits for that run."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.sensors.edges_schedule import SINCE_KEY, EdgesScheduleRunSensor
from airflow_provider_runs.triggers.edges_schedule import EdgesScheduleRunTrigger
from airflow_provider_runs.waiting.errors import RunFailedError, RunFailedNoRetryError

from support import EDGES_KEY, FakeStateStore, first_event, make_context, roundtrip, run_deferrable

ACTION = "linkedin-extract-contact"
PROFILE = {"linkedin_profile_url": "https://www.linkedin.com/in/jdoe"}


def requests(edges_emulator) -> dict[str, int]:
    return dict(edges_emulator.control.counters()["edges"]["requests"])


def every_five_minutes() -> str:
    return EdgesHook().run_schedule(ACTION, [PROFILE], cron="*/5 * * * *", name="five")["uid"]


def fire_soon(edges_emulator, after: float = 0.3) -> threading.Thread:
    """Move the emulator clock past the next cron tick from another thread, while the sensor polls."""

    def advance() -> None:
        time.sleep(after)
        edges_emulator.control.advance(6 * 60)

    thread = threading.Thread(target=advance, daemon=True)
    thread.start()
    return thread


def sensor(uid: str, **kwargs) -> EdgesScheduleRunSensor:
    args = {"task_id": "next_run", "schedule_uid": uid, "poll_interval": 0.05, "timeout": 60}
    return EdgesScheduleRunSensor(**{**args, **kwargs})


def test_defers_at_once_after_one_read_of_the_schedule(edges_emulator):
    uid = every_five_minutes()
    before = requests(edges_emulator)
    started = time.monotonic()
    with pytest.raises(TaskDeferred) as deferred:
        sensor(uid).execute(make_context(1, FakeStateStore()))
    assert time.monotonic() - started < 5
    assert isinstance(deferred.value.trigger, EdgesScheduleRunTrigger)
    after = requests(edges_emulator)
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        "GET /v1/schedules/{uid}": 1
    }
    kwargs = deferred.value.trigger.serialize()[1]
    assert kwargs["action_name"] == ACTION and EDGES_KEY not in str(kwargs)


@pytest.mark.parametrize("path", ["deferrable", "worker"])
def test_finds_the_next_run_and_waits_for_it(edges_emulator, path):
    uid = every_five_minutes()
    ctx = make_context(1, FakeStateStore())
    op = sensor(uid, deferrable=path == "deferrable")
    fire_soon(edges_emulator)
    manifest = run_deferrable(op, ctx) if op.deferrable else op.execute(ctx)
    assert manifest["status"] == "SUCCEEDED" and manifest["schedule_uid"] == uid
    run = EdgesHook().get_run(manifest["run_uid"])
    assert run["scheduled_run_uid"] == uid
    assert ctx["ti"].xcoms["run_url"].endswith(manifest["run_uid"])


def test_each_poll_is_one_narrow_request(edges_emulator):
    uid = every_five_minutes()
    hook = EdgesHook()
    for i in range(30):  # other runs of the workspace, of another action: never read
        hook.run_async(
            "linkedin-extract-people", [{"linkedin_profile_url": f"https://www.linkedin.com/in/p{i}"}]
        )
    trigger = roundtrip(
        EdgesScheduleRunTrigger(
            conn_id="edges_default",
            schedule_uid=uid,
            action_name=ACTION,
            created_after=datetime.now(timezone.utc).isoformat(),
            poll_interval=0.1,
            deadline=time.time() + 0.55,
        )
    )
    before = requests(edges_emulator)
    event = asyncio.run(first_event(trigger))
    assert event.payload["event"] == "timeout" and "started no run" in event.payload["message"]
    after = requests(edges_emulator)
    sent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert list(sent) == ["GET /v1/runs"], sent
    assert 3 <= sent["GET /v1/runs"] <= 7, sent  # one per poll over ~0.55 s at 0.1 s intervals


def test_the_look_up_filters_by_action_and_sorts_newest_first(edges_emulator):
    uid = every_five_minutes()
    cut = datetime.now(timezone.utc)
    edges_emulator.control.advance(6 * 60)
    hook = EdgesHook()
    run = hook.find_schedule_run(uid, action_name=ACTION, created_after=cut)
    assert run is not None and run["scheduled_run_uid"] == uid
    assert requests(edges_emulator)["GET /v1/runs"] == 1


def test_the_next_run_is_the_first_after_the_cut_off_even_beyond_a_page(edges_emulator):
    uid = every_five_minutes()
    cut = datetime.now(timezone.utc)
    edges_emulator.control.advance(6 * 60)  # the schedule's first run after the cut-off
    hook = EdgesHook()
    first = hook.find_schedule_run(uid, action_name=ACTION, created_after=cut)
    for i in range(25):  # more runs of the same action since: the first run is on page two
        hook.run_async(ACTION, [{"linkedin_profile_url": f"https://www.linkedin.com/in/q{i}"}])
    before = requests(edges_emulator)["GET /v1/runs"]
    again = hook.find_schedule_run(uid, action_name=ACTION, created_after=cut)
    assert again is not None and first is not None and again["uid"] == first["uid"]
    assert requests(edges_emulator)["GET /v1/runs"] - before == 2


def test_a_run_before_the_cut_off_is_not_the_next_one(edges_emulator):
    uid = every_five_minutes()
    edges_emulator.control.advance(6 * 60)
    hook = EdgesHook()
    assert hook.find_schedule_run(
        uid, action_name=ACTION, created_after=datetime.now(timezone.utc) - timedelta(hours=1)
    )
    later = datetime.now(timezone.utc) + timedelta(minutes=30)  # after the emulator's fired run
    assert hook.find_schedule_run(uid, action_name=ACTION, created_after=later) is None


def test_a_retry_keeps_the_first_tries_cut_off(edges_emulator):
    uid = every_five_minutes()
    store = FakeStateStore()
    with pytest.raises(TaskDeferred):
        sensor(uid).execute(make_context(1, store))
    first = store.data[SINCE_KEY]
    time.sleep(1.1)
    with pytest.raises(TaskDeferred) as deferred:
        sensor(uid).execute(make_context(2, store))
    assert deferred.value.trigger.created_after == first


def test_a_cancelled_schedule_without_a_next_run_fails_at_once(edges_emulator):
    uid = every_five_minutes()
    EdgesHook().schedule_action(uid, "cancel")
    with pytest.raises(RunFailedNoRetryError, match="is CANCELLED and started no run"):
        sensor(uid).execute(make_context(1, FakeStateStore()))


def test_timeout_fails_with_the_schedule_link(edges_emulator):
    uid = every_five_minutes()
    with pytest.raises(
        RunFailedError, match=r"started no run .* before the timeout\. Schedule: .*/schedules/"
    ):
        run_deferrable(sensor(uid, timeout=0.3), make_context(1, FakeStateStore()))


def test_an_unknown_schedule_fails_before_deferring(edges_emulator):
    from airflow_provider_runs.core.errors import NotFoundError

    with pytest.raises(NotFoundError):
        sensor("00000000-0000-0000-0000-000000000000").execute(make_context(1, FakeStateStore()))


def test_reschedule_mode_is_refused():
    with pytest.raises(ValueError, match="mode='reschedule'"):
        sensor("s1", mode="reschedule")


def test_bad_created_after_is_refused_before_any_call(edges_emulator):
    from airflow_provider_runs.validation import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="created_after"):
        sensor("s1", created_after="yesterday").execute(make_context(1, FakeStateStore()))
    assert requests(edges_emulator) == {}


def test_templated_fields():
    assert {"schedule_uid", "created_after", "edges_conn_id"} <= set(EdgesScheduleRunSensor.template_fields)


def schedule_trigger(
    uid: str, conn_id: str = "edges_default", seconds: float = 5.0
) -> EdgesScheduleRunTrigger:
    return EdgesScheduleRunTrigger(
        conn_id=conn_id,
        schedule_uid=uid,
        action_name=ACTION,
        created_after=datetime.now(timezone.utc).isoformat(),
        poll_interval=0.05,
        deadline=time.time() + seconds,
        max_consecutive_failures=3,
    )


def test_a_refused_key_ends_the_wait_without_retrying(edges_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EDGES_WRONG", edges_emulator.connection("edges", "edges_wrong_key_0000"))
    event = asyncio.run(first_event(schedule_trigger("s1", "edges_wrong")))
    assert event.payload["event"] == "error" and event.payload["retryable"] is False
    assert "edges_wrong_key_0000" not in str(event.payload)


def test_transient_failures_are_ridden_out(edges_emulator):
    uid = every_five_minutes()
    edges_emulator.control.add_faults(
        [
            {
                "service": "edges",
                "method": "GET",
                "path_regex": "/runs$",
                "kind": "status",
                "status": 503,
                "count": 2,
            }
        ]
    )
    fire_soon(edges_emulator, after=0.1)
    event = asyncio.run(first_event(schedule_trigger(uid, seconds=20)))
    assert event.payload["event"] == "found", event.payload
    assert edges_emulator.control.counters()["faults_injected"]["503"] == 2
