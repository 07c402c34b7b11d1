"""A fourth service defined only in ``tests/toy_service`` runs through the provider's generic
parts unchanged: the hook base and call drivers, the base operator and sensor, the generic trigger
(serialized by the service's name) and the emulator's generic modules."""

from __future__ import annotations

import asyncio
import json

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from toy_service.descriptor import TOY
from toy_service.emulator import ToySettings
from toy_service.hook import ToyJobsHook
from toy_service.operator import ToyJobOperator, ToyJobSensor

from airflow_provider_runs.core.states import RunState
from airflow_provider_runs.services import service_named
from airflow_provider_runs.triggers.run_status import RunStatusTrigger
from airflow_provider_runs.waiting.errors import RunFailedError

from emulation import emulating
from support import TEST_KEY, first_event, make_context, roundtrip, run_deferrable

pytestmark = pytest.mark.integration
KEY = TEST_KEY.replace("inf_", "toy_")


@pytest.fixture(scope="module")
def server():
    with emulating(TOY, ToySettings(toy_tokens=[KEY])) as srv:
        yield srv


@pytest.fixture
def toy(server, monkeypatch):
    server.control.reset()
    conn = {"conn_type": TOY.conn_type, "host": server.service_url(TOY.name), "password": KEY}
    monkeypatch.setenv("AIRFLOW_CONN_TOY_JOBS_DEFAULT", json.dumps({**conn, "extra": {"queue": "q1"}}))
    return server


def created(server) -> int:
    return server.control.counters()[TOY.name].get("runs_created", 0)


def ti_fields(**more):
    return {"dag_id": "toy_dag", "run_id": "manual__1", "task_id": "job", **more}


def test_the_hook_takes_its_airflow_attributes_from_the_descriptor(toy):
    assert service_named("toy_jobs") is TOY
    assert (ToyJobsHook.conn_type, ToyJobsHook.default_conn_name) == ("toy_jobs", "toy_jobs_default")
    assert ToyJobsHook.conn_name_attr == "toy_jobs_conn_id" and ToyJobsHook.hook_name == "Toy Jobs"
    assert ToyJobsHook.descriptor.connection_type()["conn-fields"]["queue"]["label"] == "Queue"


def test_one_call_description_serves_both_drivers(toy):
    hook = ToyJobsHook()
    job = hook.submit_job({"seconds": 0}, "ref-1")
    assert job["queue"] == "q1" and hook.get_status(job["id"]).state is RunState.QUEUED

    async def read():
        async_hook = ToyJobsHook()
        again = await async_hook.asubmit_job({"seconds": 0}, "ref-1")  # idempotent by ref
        await asyncio.sleep(0.3)
        return again, await async_hook.aget_status(job["id"])

    again, status = asyncio.run(read())
    assert again["id"] == job["id"] and status.state is RunState.SUCCEEDED
    assert created(toy) == 1


def test_operator_defers_to_the_generic_trigger_by_service_name(toy):
    op = ToyJobOperator(task_id="job", payload={"seconds": 0.2}, deferrable=True, poll_interval=0.1)
    context = make_context(**ti_fields())
    result = run_deferrable(op, context)
    assert result["status"] == "SUCCEEDED" and result["url"].endswith(f"/jobs/{result['run_id']}")
    trigger = op.make_trigger(result["run_id"], None)
    _path, kwargs = trigger.serialize()
    assert kwargs["service"] == "toy_jobs" and "hook_class" not in kwargs
    assert KEY not in json.dumps(kwargs)
    assert created(toy) == 1


def test_a_crashed_job_fails_the_task_in_the_worker(toy):
    op = ToyJobOperator(
        task_id="job", payload={"seconds": 0, "fail": True}, deferrable=False, poll_interval=0.1
    )
    with pytest.raises(RunFailedError, match=r"toy_jobs run job1 failed \(status 'crashed'\): the payload"):
        op.execute(make_context(**ti_fields()))


def test_a_retry_reattaches_instead_of_creating_a_second_job(toy):
    first = ToyJobOperator(task_id="job", payload={"seconds": 5}, deferrable=True, poll_interval=0.1)
    with pytest.raises(TaskDeferred):
        first.execute(make_context(**ti_fields()))
    retry = ToyJobOperator(
        task_id="job", payload={"seconds": 0}, deferrable=False, poll_interval=0.1, timeout=30
    )
    result = retry.execute(make_context(2, **ti_fields()))
    assert result["status"] == "SUCCEEDED" and created(toy) == 1


def test_sensor_waits_for_a_job_created_elsewhere(toy):
    job = ToyJobsHook().submit_job({"seconds": 0.2}, "elsewhere")
    deferred = ToyJobSensor(task_id="wait", run_id=job["id"], deferrable=True, poll_interval=0.1)
    assert run_deferrable(deferred, make_context(**ti_fields()))["status"] == "SUCCEEDED"
    poked = ToyJobSensor(task_id="wait", run_id=job["id"], deferrable=False, poll_interval=0.1)
    assert poked.poke(make_context(**ti_fields())).xcom_value["status"] == "SUCCEEDED"


def test_the_trigger_cancels_through_the_service_hook_on_kill(toy):
    job = ToyJobsHook().submit_job({"seconds": 60}, "to-halt")
    trigger = roundtrip(
        RunStatusTrigger(
            service="toy_jobs", conn_id="toy_jobs_default", run_id=job["id"], cancel_on_kill=True
        )
    )
    asyncio.run(trigger.on_kill())
    status = ToyJobsHook().get_status(job["id"])
    assert status.state is RunState.CANCELLED and status.raw_status == "halted"
    event = asyncio.run(first_event(trigger, timeout=10))
    assert event.payload["event"] == "status" and event.payload["status"]["state"] == "CANCELLED"
