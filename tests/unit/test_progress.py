"""The change detector behind the task log's progress lines (waiting/progress.py), the waiter that
feeds it every status, the state tables' progress facts and the summary at the end."""

from __future__ import annotations

import logging
import time

import pytest

from airflow_provider_runs.core.redaction import Redactor
from airflow_provider_runs.core.states import PROGRESS, ActionNeeded, RunState, RunStatus
from airflow_provider_runs.hooks.base import RunsHook
from airflow_provider_runs.hooks.edges_groups import combine_statuses
from airflow_provider_runs.hooks.edges_states import status_of
from airflow_provider_runs.waiting import progress
from airflow_provider_runs.waiting.progress import ChangeLog, counts_of, describe, log_tail, summary
from airflow_provider_runs.waiting.waiter import RunWaiter

RUNNING = RunStatus(RunState.RUNNING, "RUNNING")


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lines(caplog):
    caplog.set_level(logging.INFO, logger="progress-test")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "progress-test"]


def change_log(**kwargs) -> ChangeLog:
    return ChangeLog("r1", logging.getLogger("progress-test"), **kwargs)


def with_outputs(n: int, state: RunState = RunState.RUNNING) -> RunStatus:
    return RunStatus(state, state.value, details={PROGRESS: {"outputs": n}})


def test_the_same_status_twice_is_one_line(lines):
    clock = Clock()
    log = change_log(clock=clock)
    assert log.observe(RUNNING) is True
    for _ in range(600):  # ten minutes of polls, one a second: nothing changed, nothing said
        clock.now += 1.0
        assert log.observe(RunStatus(RunState.RUNNING, "RUNNING")) is False
    assert lines() == ["Run r1 is RUNNING"]


def test_a_new_state_is_a_line_at_once(lines):
    log = change_log(clock=Clock())
    for status in (
        RunStatus(RunState.QUEUED, "CREATED"),
        RunStatus(RunState.QUEUED, "CREATED"),
        RunStatus(RunState.RUNNING, 7, details={"status_name": "running"}),
        RunStatus(RunState.NEEDS_ACTION, "BLOCKED", "NO_RESULT", action=ActionNeeded.BLOCKED),
    ):
        log.observe(status)
    assert lines() == [
        "Run r1 is QUEUED (status 'CREATED')",
        "Run r1 is RUNNING (status 7: running)",
        "Run r1 is NEEDS_ACTION (status 'BLOCKED'): NO_RESULT",
    ]


def test_a_new_service_status_within_a_state_is_a_line_once_the_last_is_old_enough(lines):
    """inference.sh names its phases (preparing, serving, running...): each is a line, but a
    service that changes its status name at every poll still gets no line per poll."""
    clock = Clock()
    log = change_log(clock=clock)
    for name, seconds in (
        ("preparing", 1),
        ("serving", 1),
        ("setting_up", progress.DETAIL_EVERY),
        ("running", 1),
    ):
        log.observe(RunStatus(RunState.RUNNING, name))
        clock.now += seconds
    assert lines() == ["Run r1 is RUNNING (status 'preparing')", "Run r1 is RUNNING (status 'running')"]


def test_a_progress_change_is_a_line(lines):
    clock = Clock()
    log = change_log(clock=clock)
    log.observe(with_outputs(10))
    clock.now += progress.DETAIL_EVERY
    log.observe(with_outputs(1200))
    assert lines() == ["Run r1 is RUNNING; outputs 10", "Run r1 is RUNNING; outputs 1,200"]


def test_no_line_per_poll_while_progress_moves_at_every_poll(lines):
    """Progress alone is logged at most every DETAIL_EVERY seconds; each line has the latest."""
    clock = Clock()
    log = change_log(clock=clock)
    for poll in range(600):  # 10 minutes of polls every second, the count moving at each
        log.observe(with_outputs(poll + 1))
        clock.now += 1.0
    logged = lines()
    assert len(logged) == 600 // progress.DETAIL_EVERY
    assert logged[1] == f"Run r1 is RUNNING; outputs {int(progress.DETAIL_EVERY) + 1}"


def test_a_state_change_is_logged_at_once_with_the_latest_progress(lines):
    clock = Clock()
    log = change_log(clock=clock)
    log.observe(with_outputs(1))
    log.observe(with_outputs(2))  # progress alone, a second later: not yet
    log.observe(with_outputs(3, RunState.NEEDS_ACTION))
    assert lines() == ["Run r1 is RUNNING; outputs 1", "Run r1 is NEEDS_ACTION; outputs 3"]


def test_a_poll_without_progress_facts_keeps_the_last_ones(lines):
    """A lighter endpoint (Edges' light status has no output count) is not a change."""
    log = change_log(detail_every=0)
    log.observe(with_outputs(5))
    assert log.observe(RUNNING) is False
    log.observe(with_outputs(6))
    assert lines() == ["Run r1 is RUNNING; outputs 5", "Run r1 is RUNNING; outputs 6"]


def test_a_new_approval_is_a_line(lines):
    log = change_log()
    for job in ("j1", "j1", "j2"):
        message = f"waiting for an approval of tool call 'send_email' (job {job})"
        log.observe(RunStatus(RunState.NEEDS_ACTION, "paused", message, action=ActionNeeded.APPROVAL))
    assert [line.rsplit("job ", 1)[1] for line in lines()] == ["j1)", "j2)"]


def test_parking_is_said_on_the_same_line(lines):
    log = change_log()
    log.observe(RunStatus(RunState.QUEUED, "QUEUED", details={"postponed_until": "2026-01-01T10:00:00Z"}))
    assert lines() == ["Run r1 is QUEUED; parked by the service until 2026-01-01T10:00:00Z, still waiting"]


def test_text_is_built_only_for_a_change(monkeypatch):
    built = []
    monkeypatch.setattr(progress, "describe", lambda *a, **k: built.append(a) or "x")
    log = change_log()
    for _ in range(100):
        log.observe(RUNNING)
    assert len(built) == 1


def test_the_waiter_logs_changes_not_polls_and_leaves_the_end_to_the_summary(lines):
    waiter = RunWaiter("r1", poll_interval=1.0, deadline=None, log=logging.getLogger("progress-test"))
    for status in [RunStatus(RunState.QUEUED, "QUEUED")] * 5 + [RUNNING] * 20:
        assert waiter.on_status(status).event is None
    step = waiter.on_status(RunStatus(RunState.SUCCEEDED, "SUCCEEDED"))
    assert lines() == ["Run r1 is QUEUED", "Run r1 is RUNNING"]
    assert abs(step.event["waited_since"] - time.time()) < 60


def test_a_pause_that_ends_the_wait_is_logged(lines):
    waiter = RunWaiter(
        "r1",
        poll_interval=1.0,
        deadline=None,
        stop_on_states=["BLOCKED"],
        log=logging.getLogger("progress-test"),
    )
    blocked = RunStatus(RunState.NEEDS_ACTION, "BLOCKED", "NO_RESULT: nothing", action=ActionNeeded.BLOCKED)
    assert waiter.on_status(blocked).event is not None
    assert lines() == ["Run r1 is NEEDS_ACTION (status 'BLOCKED'): NO_RESULT: nothing"]


def test_the_waiter_starts_its_clock_where_told():
    waiter = RunWaiter("r1", poll_interval=1.0, deadline=None, started=123.0)
    assert waiter.event("status", "done")["waited_since"] == 123.0


# -- the state tables' progress facts ---------------------------------------------------------
def test_edges_run_object_output_count_is_progress():
    assert status_of({"status": "RUNNING", "output_count": 120}).details[PROGRESS] == {"outputs": 120}
    assert PROGRESS not in status_of({"status": "RUNNING", "output_count": 0}).details
    assert PROGRESS not in status_of({"status": "RUNNING"}).details  # the light status has none


def test_edges_run_group_progress_counts_runs_done_and_outputs():
    parts = [
        ("a", status_of({"status": "SUCCEEDED", "last_error": None, "output_count": 100})),
        ("b", status_of({"status": "RUNNING", "output_count": 40})),
        ("c", status_of({"status": "QUEUED"})),
    ]
    assert combine_statuses(parts).details[PROGRESS] == {"runs_done": "1/3", "outputs": 140}
    assert describe(combine_statuses(parts)) == "RUNNING; runs done 1/3, outputs 140"


def test_a_service_without_a_log_of_its_own():
    assert RunsHook.run_log(object.__new__(RunsHook), "r1") is None


# -- the end: summary and a failed run's own log -----------------------------------------------
def test_summary_names_the_final_state_the_duration_and_counts():
    done = RunStatus(RunState.PARTIAL, "PARTIAL_SUCCEEDED", "2 inputs failed")
    counts = counts_of({"run_uid": "r1", "inputs": 1500, "failed_inputs": 2, "ok": True}, done)
    assert summary("r1", done, 185.2, counts) == (
        "Run r1 ended PARTIAL (status 'PARTIAL_SUCCEEDED') after 0:03:05 (inputs 1,500, failed inputs 2)"
        ": 2 inputs failed"
    )
    assert summary("r1", RunStatus(RunState.SUCCEEDED, "done"), 0.42, {}) == (
        "Run r1 ended SUCCEEDED (status 'done') after 0.4s."
    )


def test_summary_counts_fall_back_to_the_status_progress():
    assert counts_of(None, with_outputs(7, RunState.FAILED)) == {"outputs": 7}
    assert counts_of(None, RunStatus(RunState.FAILED, 11)) == {}


def test_log_tail_is_bounded_and_redacted_before_the_cut():
    key = "inf_SECRET_KEY_0123456789"
    text = "\n".join([f"line {i}" for i in range(100)] + ["", f"token={key}", "Traceback: boom"])
    tail = log_tail(text, Redactor([key]), lines=3)
    assert tail == "line 99\ntoken=***\nTraceback: boom"
    cut = log_tail(f"x{key}y", Redactor([key]), chars=4)
    assert key[-4:] not in cut and cut == "...***y"


def test_the_trigger_keeps_the_wait_start_across_a_restart():
    from airflow_provider_runs.triggers.run_status import RunStatusTrigger

    from support import roundtrip

    trigger = RunStatusTrigger(service="edges", conn_id="edges_default", run_id="r1", wait_started=123.0)
    assert roundtrip(trigger).wait_started == 123.0
    assert abs(RunStatusTrigger(service="edges", conn_id="c", run_id="r1").wait_started - time.time()) < 60
