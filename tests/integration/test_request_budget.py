"""The request budget over real HTTP (issue 12): a 429 is backpressure, not a failure.

Triggers and sensors against the emulator's injected 429s (no ``Retry-After``) and against a small
metered loopback server (an Edges-like fixed window: 429 with ``X-RateLimit-Type`` and
``X-RateLimit-Remaining: 0``, never a ``Retry-After``); the sync transport's retries and deadlines
with a limiter.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from hostile_http import HostileServer, Received, respond

from airflow_provider_runs.core.errors import RateLimitedError, RunsApiError
from airflow_provider_runs.core.http import call_with_deadline
from airflow_provider_runs.core.limiter import BudgetWaitError
from airflow_provider_runs.core.retry import NO_RETRY, RetryPolicy
from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.sensors.inference_sh import InferenceShTaskSensor
from airflow_provider_runs.triggers.run_status import RunStatusTrigger, class_path
from airflow_provider_runs.waiting import waiter as waiting

from emulation import connection_json
from support import TEST_KEY, first_event, make_context, run_deferrable

EDGES_KEY = "edges_BUDGET_key_0123456789abcdef"
FAST = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.02)
STORM = {"kind": "status", "status": 429, "count": 30}  # no retry_after; any method (batched polls POST)


@pytest.fixture
def quick_backoff(monkeypatch):
    """429 backoff capped at 0.1 s instead of 60 s: thirty 429s in a few seconds."""
    monkeypatch.setattr(waiting, "RATE_LIMITED_MAX_BACKOFF", 0.1)


@pytest.fixture
def metered_ish(emulator, monkeypatch):
    """``inference_sh_default`` with a request budget set."""
    conn = emulator.connection("inference_sh", TEST_KEY, requests_per_minute=6000)
    monkeypatch.setenv("AIRFLOW_CONN_INFERENCE_SH_DEFAULT", conn)
    return emulator


def create(duration=0.3):
    return InferenceShHook().run_task("acme/echo@v1", {"text": "x", "_emulator": {"duration": duration}})[
        "id"
    ]


# -- the emulator's injected 429s ------------------------------------------------------------------
def test_trigger_rides_out_thirty_429s(metered_ish, quick_backoff):
    task_id = create()
    metered_ish.control.add_faults([STORM])
    trigger = RunStatusTrigger(
        hook_class=class_path(InferenceShHook),
        conn_id="inference_sh_default",
        run_id=task_id,
        poll_interval=0.05,
        max_consecutive_failures=3,
    )
    event = asyncio.run(first_event(trigger, timeout=60)).payload
    assert event["event"] == "status" and event["status"]["state"] == "SUCCEEDED", event
    assert metered_ish.control.counters()["faults_injected"]["429"] == 30


@pytest.mark.parametrize("path", ["worker", "deferrable"])
def test_sensor_rides_out_thirty_429s(metered_ish, quick_backoff, path):
    task_id = create()
    metered_ish.control.add_faults([STORM])
    sensor = InferenceShTaskSensor(
        task_id="watch",
        run_id=task_id,
        poll_interval=0.05,
        max_consecutive_failures=3,
        deferrable=path == "deferrable",
    )
    # worker: every 429 reaches poke(); deferrable: the trigger meets them (its hook never retries)
    sensor.hook = InferenceShHook(retry=NO_RETRY if path == "worker" else FAST)
    context = make_context()
    result = run_deferrable(sensor, context) if sensor.deferrable else sensor.execute(context)
    assert result["status"] == "completed" and result["task_id"] == task_id
    assert metered_ish.control.counters()["faults_injected"]["429"] == 30


def test_operator_worker_wait_rides_out_thirty_429s(metered_ish, quick_backoff):
    from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

    op = InferenceShTaskOperator(
        task_id="t",
        app="acme/echo@v1",
        input={"text": "w", "_emulator": {"duration": 0.3}},
        poll_interval=0.05,
        max_consecutive_failures=3,
        deferrable=False,
    )
    op.hook = InferenceShHook(retry=NO_RETRY)
    created = []
    real = op.hook.run_task

    def run_task(*args, **kwargs):  # the storm starts once the task exists
        task = real(*args, **kwargs)
        metered_ish.control.add_faults([STORM])
        created.append(task["id"])
        return task

    op.hook.run_task = run_task
    manifest = op.execute(make_context())
    assert manifest["status"] == "completed" and manifest["task_id"] == created[0]
    assert metered_ish.control.counters()["faults_injected"]["429"] == 30


# -- a metered server: many triggers, one budget ----------------------------------------------------
class FixedWindowEdges:
    """``GET /runs/{uid}/status`` metered like Edges: ``budget`` requests per ``window`` seconds for
    the whole workspace, then 429 ``STATUS_429`` without ``Retry-After``. Runs end at ``done_at``."""

    def __init__(self, budget: int, window: float, run_seconds: float) -> None:
        self.budget, self.window = budget, window
        self.done_at = time.monotonic() + run_seconds
        self.lock = threading.Lock()
        self.window_start, self.used = time.monotonic(), 0
        self.ok = self.refused = 0

    def __call__(self, req: Received):
        now = time.monotonic()
        with self.lock:
            if now - self.window_start >= self.window:
                self.window_start, self.used = now, 0
            self.used += 1
            over = self.used > self.budget
            remaining = max(0, self.budget - self.used)
            if over:
                self.refused += 1
            else:
                self.ok += 1
        limits = {"X-RateLimit-Type": "runs", "X-RateLimit-Remaining": str(remaining)}
        if over:
            body = {"error_label": "STATUS_429", "error_scope": "server", "message": "Too many requests"}
            return respond(429, body, limits)
        status = "SUCCEEDED" if now >= self.done_at else "RUNNING"
        return respond(200, {"status": status}, limits)


def edges_conn(monkeypatch, url, **extra):
    monkeypatch.setenv("AIRFLOW_CONN_EDGES_METERED", connection_json("edges", url, EDGES_KEY, **extra))


def test_many_triggers_on_one_metered_budget_all_succeed(monkeypatch, quick_backoff):
    meter = FixedWindowEdges(budget=20, window=0.5, run_seconds=2.0)  # 2,400 a minute
    with HostileServer(meter, route=True) as server:
        edges_conn(monkeypatch, server.url, requests_per_minute=6000)  # more than the plan allows

        async def main():
            triggers = [
                RunStatusTrigger(
                    hook_class=class_path(EdgesHook),
                    conn_id="edges_metered",
                    run_id=f"run{i}",
                    poll_interval=0.05,
                    max_consecutive_failures=3,
                )
                for i in range(30)
            ]
            return await asyncio.gather(*(first_event(t, timeout=60) for t in triggers))

        events = [e.payload for e in asyncio.run(main())]
    assert meter.refused > 0  # the budget was exceeded, and ridden out
    assert [e["event"] for e in events] == ["status"] * 30, [
        e["message"] for e in events if e["event"] != "status"
    ]
    assert all(e["status"]["state"] == "SUCCEEDED" for e in events)


# -- the sync transport with a limiter ----------------------------------------------------------------
def answers(*behaviours):
    """Answer the n-th request with the n-th behaviour (the last one repeats)."""
    seen = []

    def route(req: Received):
        seen.append(req)
        return behaviours[min(len(seen), len(behaviours)) - 1]

    return route


def test_a_hook_call_rides_out_429s_beyond_its_attempts(monkeypatch):
    too_many = respond(429, {"error_label": "STATUS_429"}, {"X-RateLimit-Remaining": "0"})
    with HostileServer(answers(*[too_many] * 5, respond(200, {"status": "RUNNING"})), route=True) as server:
        edges_conn(monkeypatch, server.url, requests_per_minute=6000)
        assert EdgesHook("edges_metered", retry=FAST).get_run_status("r1") == {"status": "RUNNING"}
    assert len(server.received) == 6  # five 429s with a budget of two attempts


def test_a_hook_call_still_gives_up_on_5xx_after_its_attempts(monkeypatch):
    with HostileServer(respond(503, {"message": "down"})) as server:
        edges_conn(monkeypatch, server.url, requests_per_minute=6000)
        with pytest.raises(RunsApiError, match="503"):
            EdgesHook("edges_metered", retry=FAST).get_run_status("r1")
    assert len(server.received) == 2


def test_retry_after_pauses_the_next_call_of_the_connection(monkeypatch):
    slow_down = respond(429, {"error": "slow down"}, {"Retry-After": "1"})
    with HostileServer(answers(slow_down, respond(200, {"status": "RUNNING"})), route=True) as server:
        edges_conn(monkeypatch, server.url)
        with pytest.raises(RateLimitedError):
            EdgesHook("edges_metered", retry=NO_RETRY).get_run_status("r1")
        started = time.monotonic()
        other_hook = EdgesHook("edges_metered", retry=NO_RETRY)  # same connection: same budget
        assert other_hook.get_run_status("r1") == {"status": "RUNNING"}
        assert time.monotonic() - started >= 0.8


def test_a_pause_beyond_the_deadline_fails_at_once_without_sending(monkeypatch):
    slow_down = respond(429, {"error": "slow down"}, {"Retry-After": "30"})
    with HostileServer(slow_down) as server:
        edges_conn(monkeypatch, server.url)
        hook = EdgesHook("edges_metered", retry=NO_RETRY)
        with pytest.raises(RateLimitedError):
            hook.get_run_status("r1")
        started = time.monotonic()
        with pytest.raises(BudgetWaitError) as err:
            call_with_deadline(time.time() + 5, EdgesHook("edges_metered").get_run_status, "r1")
        assert time.monotonic() - started < 0.5
        assert 25 <= err.value.retry_after <= 30 and "requests_per_minute" in str(err.value)
        assert EDGES_KEY not in str(err.value)
    assert len(server.received) == 1


def test_a_hook_call_under_a_429_storm_ends_by_its_deadline(monkeypatch):
    with HostileServer(respond(429, {"error_label": "STATUS_429"})) as server:
        edges_conn(monkeypatch, server.url, requests_per_minute=600)
        started = time.monotonic()
        with pytest.raises(RunsApiError):
            call_with_deadline(time.time() + 1.5, EdgesHook("edges_metered").get_run_status, "r1")
        assert time.monotonic() - started < 2.5


def test_trigger_with_a_paused_budget_times_out_at_its_deadline(monkeypatch):
    slow_down = respond(429, {"error": "slow down"}, {"Retry-After": "30"})
    with HostileServer(slow_down) as server:
        edges_conn(monkeypatch, server.url)
        with pytest.raises(RateLimitedError):
            EdgesHook("edges_metered", retry=NO_RETRY).get_run_status("r1")
        trigger = RunStatusTrigger(
            hook_class=class_path(EdgesHook),
            conn_id="edges_metered",
            run_id="r1",
            poll_interval=0.05,
            deadline=time.time() + 1.0,
        )
        started = time.monotonic()
        event = asyncio.run(first_event(trigger, timeout=10)).payload
        assert event["event"] == "timeout", event
        assert time.monotonic() - started < 2.0
    assert len(server.received) == 1  # the paused budget sent nothing more
