"""The secrets audit for Inferable and Edges: operators (both paths), sensors and the trigger run
with recognizable keys; the keys appear in no log, exception, repr, XCom, state store or
serialized trigger kwargs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from secrets_audit import Evidence, audit_ti, collect

from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.inferable import InferableHook
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.sensors.edges import EdgesRunSensor
from airflow_provider_runs.sensors.inferable import InferableRunSensor
from airflow_provider_runs.triggers.run_status import RunStatusTrigger, class_path

from support import FakeStateStore, first_event, roundtrip, run_deferrable

INFERABLE_KEY = "sk_inf_AUDIT-KEY-41c7e2b9a0d35f68"
EDGES_KEY = "edges_AUDIT-KEY-93b1d0c4e7f2a856"
CLUSTER = "01JAUDITCLUSTER00000000000"
KEYS = (INFERABLE_KEY, EDGES_KEY)
PROFILES = [{"linkedin_profile_url": f"https://www.linkedin.com/in/a{i}"} for i in range(3)]


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(
        inferable_clusters={CLUSTER: [INFERABLE_KEY]},
        inferable_step_seconds=0.05,
        edges_api_keys=[EDGES_KEY],
        edges_input_seconds=0.01,
    )


@pytest.fixture
def env(server, monkeypatch):
    yield from server.fresh(
        monkeypatch,
        inferable_default=server.connection("inferable", cluster_id=CLUSTER),
        edges_default=server.connection("edges"),
    )


def operator_run(make, deferrable: bool):
    def run(evidence: Evidence) -> None:
        op = make(deferrable)
        ti, store = audit_ti(), FakeStateStore()
        context = {"ti": ti, "task_state_store": store}
        evidence.add(repr(op), {f: getattr(op, f) for f in op.template_fields}, repr(op.hook))
        try:
            evidence.add(run_deferrable(op, context) if deferrable else op.execute(context))
        finally:
            evidence.add(ti.xcoms, store.data)

    return run


def inferable_op(deferrable: bool) -> InferableRunOperator:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    return InferableRunOperator(
        task_id="agent",
        initial_prompt="count",
        result_schema=schema,
        poll_interval=0.05,
        deferrable=deferrable,
    )


def edges_op(deferrable: bool) -> EdgesActionOperator:
    return EdgesActionOperator(
        task_id="enrich",
        action="linkedin-extract-people",
        inputs=PROFILES,
        poll_interval=0.05,
        deferrable=deferrable,
    )


def failing_op(deferrable: bool) -> InferableRunOperator:
    return InferableRunOperator(
        task_id="agent",
        initial_prompt="x",
        poll_interval=0.05,
        failed_grace=0.2,
        deferrable=deferrable,
        context={"_emulator": {"outcome": "failed", "failure_reason": "boom"}},
    )


def sensor_run(kind: str, deferrable: bool):
    def run(evidence: Evidence) -> None:
        if kind == "inferable":
            run_id = InferableHook().create_run(initial_prompt="count")["id"]
            sensor: Any = InferableRunSensor(
                task_id="s", run_id=run_id, poll_interval=0.05, deferrable=deferrable
            )
        else:
            run_id = EdgesHook().run_async("linkedin-extract-people", PROFILES)["run_uid"]
            sensor = EdgesRunSensor(task_id="s", run_id=run_id, poll_interval=0.05, deferrable=deferrable)
        ti = audit_ti()
        try:
            evidence.add(run_deferrable(sensor, {"ti": ti}) if deferrable else sensor.execute({"ti": ti}))
        finally:
            evidence.add(ti.xcoms, repr(sensor))

    return run


def trigger_run(kind: str):
    def run(evidence: Evidence) -> None:
        if kind == "inferable":
            hook_class, conn, run_id = (
                InferableHook,
                "inferable_default",
                InferableHook().create_run(initial_prompt="x")["id"],
            )
        else:
            hook_class, conn = EdgesHook, "edges_default"
            run_id = EdgesHook().run_async("linkedin-extract-people", PROFILES)["run_uid"]
        trigger = RunStatusTrigger(
            hook_class=class_path(hook_class),
            conn_id=conn,
            run_id=run_id,
            poll_interval=0.05,
            cancel_on_kill=True,
        )
        evidence.add(trigger.serialize(), repr(trigger))
        event = asyncio.run(first_event(roundtrip(trigger)))
        evidence.add(event.payload, repr(event))
        asyncio.run(trigger.on_kill())

    return run


RUNS = {
    "inferable-operator-deferrable": operator_run(inferable_op, True),
    "inferable-operator-worker": operator_run(inferable_op, False),
    "inferable-operator-failed-run": operator_run(failing_op, False),
    "inferable-sensor-deferrable": sensor_run("inferable", True),
    "inferable-sensor-worker": sensor_run("inferable", False),
    "inferable-trigger": trigger_run("inferable"),
    "edges-operator-deferrable": operator_run(edges_op, True),
    "edges-operator-worker": operator_run(edges_op, False),
    "edges-sensor-deferrable": sensor_run("edges", True),
    "edges-sensor-worker": sensor_run("edges", False),
    "edges-trigger": trigger_run("edges"),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_keys_appear_nowhere(env, caplog, capfd, name):
    evidence = collect(RUNS[name], caplog, capfd)
    assert len(evidence.texts) >= 4
    for key in KEYS:
        evidence.assert_clean(key)
