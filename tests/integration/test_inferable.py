"""Inferable end to end against the emulator: outcomes in both paths, reattach, typed results,
approvals, kill, bad input."""

from __future__ import annotations

import asyncio
import json
import logging

import pydantic
import pytest

from airflow_provider_runs.core.errors import AuthError, NotFoundError
from airflow_provider_runs.core.states import ActionNeeded
from airflow_provider_runs.hooks.inferable import InferableHook
from airflow_provider_runs.operators.base import RunFailedError
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.sensors.inferable import InferableRunSensor
from airflow_provider_runs.testing.emulator.inferable_api import DEFAULT_CLUSTER

from support import FakeStateStore, at_any_push, make_context, run_deferrable

KEY = "sk_inf_integration_key_000000000000000000000000"
MACHINE_KEY = "sk_machine_integration_key_00000000000000000"
PATHS = ["deferrable", "worker"]


class Report(pydantic.BaseModel):
    count: int
    names: list[str]


def conn(server, key: str = KEY, cluster: str | None = DEFAULT_CLUSTER) -> str:
    extra = {"cluster_id": cluster} if cluster else {}
    return server.connection("inferable", key, **extra)


@pytest.fixture(scope="module")
def inferable_server(emulator_factory):
    return emulator_factory(
        inferable_clusters={
            DEFAULT_CLUSTER: [KEY],
            "01JOTHERCLUSTER00000000000": ["sk_inf_other_cluster_key_0000"],
        },
        inferable_machine_keys=[MACHINE_KEY],
        inferable_step_seconds=0.1,
    )


@pytest.fixture
def emu(inferable_server, monkeypatch):
    server = inferable_server
    yield from server.fresh(
        monkeypatch,
        inferable_default=conn(server),
        inferable_wrong_key=conn(server, key="sk_inf_not_a_real_key_00000"),
        inferable_other_cluster=conn(server, key="sk_inf_other_cluster_key_0000"),
        inferable_machine=conn(server, key=MACHINE_KEY),
        inferable_no_cluster=conn(server, cluster=None),
    )


def counters(emu):
    return emu.control.counters()["inferable"]


def operator(**kwargs):
    defaults = {
        "task_id": "agent",
        "initial_prompt": "Count open tickets",
        "result_schema": Report,
        "poll_interval": 0.05,
        "timeout": 30,
        "failed_grace": 0.2,  # a failed run holds this long before the task believes it
    }
    return InferableRunOperator(**{**defaults, **kwargs})


def context(try_number=1, store=None, **ti_fields):
    """A task context whose task instance has the identity the idempotency key is derived from."""
    return make_context(try_number, store, **{"dag_id": "dag", "run_id": "manual__2026-11-24", **ti_fields})


def run(op, path, ctx=None):
    ctx = ctx or context()
    op.deferrable = path == "deferrable"
    return run_deferrable(op, ctx) if op.deferrable else op.execute(ctx)


@pytest.mark.parametrize("path", PATHS)
def test_done_returns_the_typed_result(emu, path):
    manifest = run(operator(context={"_emulator": {"result": {"count": 3, "names": ["a", "b", "c"]}}}), path)
    assert manifest["status"] == "done" and manifest["result"] == {"count": 3, "names": ["a", "b", "c"]}
    assert manifest["run_id"].startswith("af.") and manifest["url"].endswith(manifest["run_id"])


@pytest.mark.parametrize("path", PATHS)
def test_generated_result_matches_the_schema(emu, path):
    manifest = run(operator(tools=["tickets_search"]), path)
    Report.model_validate(manifest["result"])


@pytest.mark.parametrize("path", PATHS)
def test_failed(emu, path):
    op = operator(context={"_emulator": {"outcome": "failed", "failure_reason": "Detected cycle in Run."}})
    with pytest.raises(
        RunFailedError, match=r"failed \(status 'failed'\): Detected cycle in Run\..*Run: http"
    ):
        run(op, path)


@pytest.mark.parametrize("path", PATHS)
def test_tool_call_pauses_are_not_questions(emu, path):
    op = operator(tools=["tickets_search"], on_needs_action="fail", context={"_emulator": {"tool_calls": 3}})
    assert run(op, path)["status"] == "done"


@pytest.mark.parametrize("path", PATHS)
def test_approval_with_on_paused_fail(emu, path):
    scenario = {"approval": {"tool": "send_email", "input": {"to": "x@example.com"}}}
    op = operator(tools=["send_email"], on_needs_action="fail", context={"_emulator": scenario})
    with pytest.raises(RunFailedError, match="send_email") as err:
        run(op, path)
    assert "on_needs_action='fail'" in str(err.value)


@pytest.mark.parametrize("path", PATHS)
def test_approval_with_on_paused_wait_keeps_waiting_until_the_deadline(emu, path):
    scenario = {"approval": {"tool": "send_email", "input": {}}}
    op = operator(tools=["send_email"], on_needs_action="wait", context={"_emulator": scenario}, timeout=1.0)
    with pytest.raises(RunFailedError, match="did not finish before the deadline; last status 'paused'"):
        run(op, path)


@pytest.mark.parametrize("path", PATHS)
def test_stuck_pending_times_out(emu, path):
    with pytest.raises(RunFailedError, match="deadline"):
        run(operator(context={"_emulator": {"outcome": "stuck"}}, timeout=0.6), path)


@pytest.mark.parametrize("path", PATHS)
def test_invalid_result_fails_with_the_validation_errors(emu, path):
    with pytest.raises(RunFailedError, match=r"does not match result_schema: .*count.*Run: http"):
        run(operator(context={"_emulator": {"invalid_result": True}}), path)


@pytest.mark.parametrize("path", PATHS)
def test_dict_schema(emu, path):
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    manifest = run(operator(result_schema=schema, context={"_emulator": {"result": {"ok": True}}}), path)
    assert manifest["result"] == {"ok": True}


# -- retries reattach -------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("store", [True, False], ids=["state-store", "no-state-store"])
def test_retry_reattaches_to_the_same_run(emu, path, store):
    shared = FakeStateStore() if store else None

    with pytest.raises(SystemExit):
        operator().execute(context(1, shared, crash_on=at_any_push))
    manifest = run(operator(), path, context(2, shared))
    assert manifest["status"] == "done" and counters(emu)["runs_created"] == 1


@pytest.mark.parametrize("path", PATHS)
def test_create_that_timed_out_after_landing_is_not_repeated(emu, path):
    emu.control.add_faults([{"service": "inferable", "method": "POST", "path_regex": "/runs$", "kind": "drop",
                             "phase": "after", "count": 1}])  # fmt: skip
    manifest = run(operator(), path)
    assert manifest["status"] == "done" and counters(emu)["runs_created"] == 1


def test_a_failed_run_is_not_reattached_on_retry(emu):
    failing = {"_emulator": {"outcome": "failed", "failure_reason": "boom"}}
    with pytest.raises(RunFailedError):
        run(operator(context=failing), "worker", context(1))
    with pytest.raises(RunFailedError):
        run(operator(context=failing), "worker", context(2))
    assert counters(emu)["runs_created"] == 2


def test_mapped_tasks_get_their_own_runs(emu):
    first = run(operator(), "worker", context(map_index=0))
    second = run(operator(), "worker", context(map_index=1))
    assert first["run_id"] != second["run_id"] and counters(emu)["runs_created"] == 2


# -- kill -------------------------------------------------------------------------------------
def test_kill_logs_and_never_deletes(emu, caplog):
    caplog.set_level(logging.INFO)
    op = operator(context={"_emulator": {"outcome": "stuck"}}, wait_for_completion=False)
    manifest = op.execute(context())
    op.on_kill()
    assert counters(emu).get("deletes", 0) == 0
    assert emu.control.counters()["inferable"]["runs_created"] == 1
    assert manifest["run_id"]


# -- the sensor -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_sensor(emu, path):
    created = operator(wait_for_completion=False).execute(context())
    sensor = InferableRunSensor(task_id="watch", run_id=created["run_id"], result_schema=Report,
                                poll_interval=0.05, deferrable=path == "deferrable")  # fmt: skip
    ctx = context()
    result = run_deferrable(sensor, ctx) if sensor.deferrable else sensor.execute(ctx)
    hook = InferableHook()
    run_id = created["run_id"]
    assert result == {
        "run_id": run_id,
        "status": "done",
        "url": hook.run_url(run_id),
        "result": hook.get_run(run_id)["result"],
    }, result
    Report.model_validate(result["result"])


@pytest.mark.parametrize("path", PATHS)
def test_sensor_with_on_paused_fail_fails_on_an_approval(emu, path):
    scenario = {"approval": {"tool": "send_email", "input": {}}}
    created = operator(tools=["send_email"], context={"_emulator": scenario}, wait_for_completion=False)
    run_id = created.execute(context())["run_id"]
    sensor = InferableRunSensor(task_id="watch", run_id=run_id, on_needs_action="fail", poll_interval=0.05,
                                timeout=30, deferrable=path == "deferrable")  # fmt: skip
    with pytest.raises(RunFailedError, match=r"approval.*send_email"):
        run_deferrable(sensor, context()) if sensor.deferrable else sensor.execute(context())


def test_async_twins_answer_as_the_blocking_calls(emu):
    """Each call is one description run by two drivers: both give the same answers."""
    scenario = {"approval": {"tool": "send_email", "input": {"to": "x@example.com"}}}
    op = operator(tools=["send_email"], context={"_emulator": scenario}, on_needs_action="fail")
    with pytest.raises(RunFailedError):
        run(op, "worker")  # ends once the run waits for the approval
    run_id = op.hook.list_runs()[0]["id"]
    hook = InferableHook()
    status = hook.get_status(run_id)
    assert status.action is ActionNeeded.APPROVAL and status.details["tool"] == "send_email"

    async def both():
        ahook = InferableHook()
        return (
            await ahook.aget_status(run_id),
            await ahook.apending_approval(run_id),
            await ahook.afind_run("no-such-run-id"),
            await ahook.aget_run(run_id),
            await ahook.abatch_status([]),
        )

    astatus, approval, missing, arun, empty = asyncio.run(both())
    assert astatus == status
    assert approval == hook.pending_approval(run_id) and approval["targetFn"] == "send_email"
    assert missing is None and hook.find_run("no-such-run-id") is None
    assert arun["id"] == run_id and empty == {}
    hook.answer_approval(approval["id"], True)
    assert hook.pending_approval(run_id) is None


@pytest.mark.parametrize("path", PATHS)
def test_sensor_on_unknown_run(emu, path):
    sensor = InferableRunSensor(task_id="watch", run_id="no-such-run-id", poll_interval=0.05,
                                deferrable=path == "deferrable")  # fmt: skip
    with pytest.raises(RunFailedError, match="404"):
        run_deferrable(sensor, context()) if sensor.deferrable else sensor.execute(context())


# -- bad input --------------------------------------------------------------------------------
def requests_sent(emu) -> int:
    return sum(counters(emu)["requests"].values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"result_schema": {"type": "array", "items": {}}}, "must describe an object"),
        ({"result_schema": {"type": "object"}}, "must have 'properties'"),
        ({"result_schema": {"type": "object", "properties": {"bad name": {}}}}, "property name 'bad name'"),
        ({"result_schema": dict}, "not a pydantic BaseModel"),
        ({"on_needs_action": "ignore"}, "on_needs_action must be one of"),
        ({"poll_interval": 0}, "poll_interval must be a positive number"),
    ],
)
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        operator(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial_prompt": ""}, "initial_prompt must be a non-empty string"),
        ({"initial_prompt": "  "}, "initial_prompt must be a non-empty string"),
        ({"tools": []}, "tools cannot be an empty list"),
        ({"inferable_run_id": "bad id!"}, "must match"),
        ({"input": "not json"}, "input must be a JSON object"),
        ({"context": ["x"]}, "context must be a JSON object"),
        ({"inferable_conn_id": "inferable_no_cluster"}, "has no cluster id"),
    ],
)
def test_errors_before_any_call(emu, kwargs, message):
    with pytest.raises(ValueError, match=message):
        operator(**kwargs).execute(context())
    assert requests_sent(emu) == 0


@pytest.mark.parametrize(
    ("conn_id", "message"),
    [
        ("inferable_wrong_key", "Auth not extracted from request"),
        ("inferable_other_cluster", "API Key does not have access to this cluster"),
    ],
)
def test_auth_errors_quote_the_service(emu, conn_id, message):
    with pytest.raises(AuthError, match=message) as err:
        operator(inferable_conn_id=conn_id).execute(context())
    assert err.value.status_code == 401


def test_machine_key_creates_runs_on_the_current_server(emu):
    """Spec §1.1: the current server has no key-type distinction; any valid key creates."""
    manifest = operator(inferable_conn_id="inferable_machine").execute(context())
    assert manifest["status"] == "done" and counters(emu)["runs_created"] == 1


def test_machine_key_refused_by_an_older_server_with_a_hint(emu, monkeypatch):
    """Older hosted servers refused machine keys at create (spec §9): the hint comes with the 401."""
    monkeypatch.setattr(emu.config, "inferable_enforce_key_kinds", True)
    with pytest.raises(AuthError, match="cluster consumer API key") as err:
        operator(inferable_conn_id="inferable_machine").execute(context())
    assert err.value.status_code == 401 and "Machine API keys cannot create runs" in str(err.value)
    assert counters(emu)["runs_created"] == 0


def test_unknown_run_is_404(emu):
    from airflow_provider_runs.hooks.inferable import InferableHook

    with pytest.raises(NotFoundError):
        InferableHook().get_run("no-such-run")


def test_key_never_leaks(emu, caplog):
    caplog.set_level(logging.DEBUG)
    ctx = context(1, FakeStateStore())
    manifest = run(operator(), "deferrable", ctx)
    for text in (json.dumps(manifest), json.dumps(ctx["ti"].xcoms), json.dumps(ctx["task_state_store"].data),
                 caplog.text):  # fmt: skip
        assert KEY not in text
    with pytest.raises(AuthError) as err:
        operator(inferable_conn_id="inferable_wrong_key").execute(context())
    assert "sk_inf_not_a_real_key_00000" not in str(err.value)
