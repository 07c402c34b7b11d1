"""The hold of a status the service may take back (waiting/hold.py), in the waiter and the trigger's
serialized form; no I/O (the clock is moved by hand)."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.triggers.run_status import RunStatusTrigger
from airflow_provider_runs.waiting import hold as hold_module
from airflow_provider_runs.waiting import waiter as waiter_module
from airflow_provider_runs.waiting.hold import Hold, hold_kwargs, read_holds
from airflow_provider_runs.waiting.waiter import EVENT_STATUS, RunWaiter

FAILED = RunStatus(RunState.FAILED, "failed", "Model provider answered 503")
RUNNING = RunStatus(RunState.RUNNING, "running")
DONE = RunStatus(RunState.SUCCEEDED, "done")


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(waiter_module.time, "time", c.time)
    return c


def test_read_holds_checks_names_and_drops_zero_graces():
    assert read_holds({"FAILED": 30, RunState.CANCELLED: 0}) == {RunState.FAILED: 30.0}
    assert hold_kwargs(read_holds({RunState.FAILED: 5})) == {"FAILED": 5.0}
    with pytest.raises(ValueError, match="RunState names"):
        read_holds({"failed": 30})  # raw service statuses are not states


def test_unknown_names_are_logged_when_read_from_a_serialized_trigger(caplog):
    with caplog.at_level(logging.WARNING):
        assert read_holds({"NOPE": 1, "FAILED": 2}, log=logging.getLogger("t")) == {RunState.FAILED: 2.0}
    assert "NOPE" in caplog.text


def test_hold_believes_a_state_only_after_its_grace():
    hold = Hold({"FAILED": 30})
    assert hold.judge(RUNNING, 0) is None and not hold.holding
    assert hold.judge(FAILED, 10) == 30 and hold.holding
    assert hold.judge(FAILED, 25) == 15
    assert hold.judge(FAILED, 40) is None  # held its whole grace: believed


def test_another_state_ends_the_hold_and_restarts_its_grace():
    hold = Hold({"FAILED": 30})
    hold.judge(FAILED, 0)
    assert hold.judge(RUNNING, 20) is None and not hold.holding
    assert hold.judge(FAILED, 35) == 30  # a new sighting: a new grace


def test_a_hold_survives_a_reschedule_through_its_value():
    hold = Hold({"FAILED": 30})
    hold.judge(FAILED, 0)
    kept = hold.to_value("r1")
    again = Hold({"FAILED": 30})
    again.restore(kept, "r1")
    assert again.judge(FAILED, 31) is None
    other = Hold({"FAILED": 30})
    other.restore(kept, "r2")  # another run's hold is not this one's
    assert other.judge(FAILED, 31) == 30


def test_waiter_holds_a_failed_then_ends_with_it(clock):
    waiter = RunWaiter("r1", poll_interval=5, deadline=None, hold={"FAILED": 12})
    step = waiter.on_status(FAILED)
    assert step.event is None and step.sleep == 5
    clock.now += 10
    step = waiter.on_status(FAILED)
    assert step.event is None and step.sleep == pytest.approx(2)  # the re-read lands on the grace
    clock.now += 2
    step = waiter.on_status(FAILED)
    assert step.event["event"] == EVENT_STATUS and step.event["status"]["state"] == "FAILED"
    assert step.event["status"]["message"] == "Model provider answered 503"


def test_waiter_goes_on_when_the_failed_flips_back(clock):
    waiter = RunWaiter("r1", poll_interval=1, deadline=None, hold={"FAILED": 30})
    assert waiter.on_status(FAILED).event is None
    clock.now += 3
    assert waiter.on_status(RUNNING).event is None and not waiter.hold.holding
    clock.now += 3
    assert waiter.on_status(DONE).event["status"]["state"] == "SUCCEEDED"


def test_without_a_hold_the_first_failed_ends_the_wait(clock):
    assert RunWaiter("r1", poll_interval=1, deadline=None).on_status(FAILED).event is not None


def test_the_hold_never_moves_the_deadline(clock):
    waiter = RunWaiter("r1", poll_interval=5, deadline=clock.now + 3, hold={"FAILED": 30})
    step = waiter.on_status(FAILED)
    assert step.event is None and step.sleep == pytest.approx(3)  # cut at the deadline
    clock.now += 3
    event = waiter.check_deadline()
    # the deadline ends the hold with the held status (the service's message), not a timeout
    assert event["event"] == EVENT_STATUS and event["status"]["message"] == "Model provider answered 503"
    assert waiter.deadline == 1_003.0


def test_a_deadline_outside_a_hold_is_still_a_timeout(clock):
    waiter = RunWaiter("r1", poll_interval=5, deadline=clock.now + 3, hold={"FAILED": 30})
    waiter.on_status(RUNNING)
    clock.now += 3
    assert waiter.check_deadline()["event"] == "timeout"


def test_trigger_serializes_the_hold_as_primitives():
    trigger = RunStatusTrigger(
        service="inferable", conn_id="c", run_id="r", deadline=123.0, hold={"FAILED": 30}
    )
    _, kwargs = trigger.serialize()
    assert kwargs["hold"] == {"FAILED": 30.0} and kwargs["deadline"] == 123.0
    rebuilt = RunStatusTrigger(**kwargs)
    assert rebuilt.serialize() == trigger.serialize()
    legacy = {k: v for k, v in kwargs.items() if k != "hold"}  # serialized by an earlier version
    assert RunStatusTrigger(**legacy).hold == {}


def test_hold_module_reads_no_clock_of_its_own():
    assert not hasattr(hold_module, "time")


def test_inferable_tasks_hold_failed_for_their_grace(mocker):
    from airflow_provider_runs.operators.inferable import FAILED_GRACE, InferableRunOperator
    from airflow_provider_runs.sensors.inferable import InferableRunSensor

    op = InferableRunOperator(task_id="a", initial_prompt="p")
    assert op.hold_states() == {RunState.FAILED: FAILED_GRACE} == {RunState.FAILED: 30.0}
    assert InferableRunOperator(task_id="b", initial_prompt="p", failed_grace=0).hold_states() == {}
    assert InferableRunSensor(task_id="s", run_id="r", failed_grace=5).hold_states() == {RunState.FAILED: 5.0}
    mocker.patch.object(InferableRunOperator, "run_url", return_value="https://app.inferable.invalid/r")
    trigger = op.make_trigger("r", 99.0)
    assert trigger.serialize()[1]["hold"] == {"FAILED": 30.0}
    with pytest.raises(ValueError, match="failed_grace"):
        InferableRunOperator(task_id="c", initial_prompt="p", failed_grace=-1)


def rescheduled_sensor(mocker, status):
    """A fresh instance, as each poke of a rescheduled sensor gets one."""
    from airflow_provider_runs.sensors.inferable import InferableRunSensor

    sensor = InferableRunSensor(task_id="s", run_id="r1", mode="reschedule", failed_grace=10, poll_interval=1)
    hook = mocker.Mock()
    hook.get_status.return_value = status
    hook.run_url.return_value = "https://app.inferable.invalid/r1"
    hook.run_log.return_value = ""
    hook.redactor.side_effect = lambda text: text
    mocker.patch.object(type(sensor), "hook", mocker.PropertyMock(return_value=hook))
    return sensor


def test_a_rescheduled_sensor_keeps_its_hold_in_the_task_state_store(clock, mocker):
    from airflow_provider_runs.operators.base import RunFailedError
    from airflow_provider_runs.sensors.base import HOLD_KEY

    from support import FakeStateStore

    store = FakeStateStore()
    ctx = {"ti": mocker.Mock(), "task_state_store": store}
    assert rescheduled_sensor(mocker, FAILED).poke(ctx) is False
    assert store.get(HOLD_KEY) == {"run_id": "r1", "state": "FAILED", "since": 1_000.0}
    clock.now += 5
    assert rescheduled_sensor(mocker, FAILED).poke(ctx) is False  # still within the grace
    clock.now += 6
    with pytest.raises(RunFailedError, match="Model provider answered 503"):
        rescheduled_sensor(mocker, FAILED).poke(ctx)


def test_a_rescheduled_sensor_forgets_the_hold_when_the_run_flips_back(clock, mocker):
    from airflow_provider_runs.sensors.base import HOLD_KEY

    from support import FakeStateStore

    store = FakeStateStore()
    ctx = {"ti": mocker.Mock(), "task_state_store": store}
    rescheduled_sensor(mocker, FAILED).poke(ctx)
    clock.now += 3
    assert rescheduled_sensor(mocker, RUNNING).poke(ctx) is False
    assert store.get(HOLD_KEY) is None


def test_a_rescheduled_sensor_without_a_store_rereads_within_the_poke(clock, mocker):
    from airflow_provider_runs.operators.base import RunFailedError
    from airflow_provider_runs.sensors import base as sensor_base

    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock.now += seconds

    mocker.patch.object(sensor_base.time, "sleep", sleep)
    with pytest.raises(RunFailedError):
        rescheduled_sensor(mocker, FAILED).poke({"ti": mocker.Mock()})
    assert sum(slept) == pytest.approx(10)  # the grace, re-read in the one poke (no store: Airflow < 3.3)
