"""Secrets audit: every operator, sensor and trigger runs with a recognizable key, and the key
appears in none of: captured logs, exception texts, reprs, XCom values, serialized trigger kwargs,
the task state store and rendered template fields. A deliberately leaking hook proves that the
audit fails when a key does leak.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from secrets_audit import Evidence, audit_ti, collect

from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator
from airflow_provider_runs.sensors.inference_sh import InferenceShTaskSensor
from airflow_provider_runs.triggers.run_status import RunStatusTrigger, class_path

from support import FakeStateStore, first_event, roundtrip, run_deferrable

KEY = "inf_AUDIT-KEY-7f3a9c51d2e84b06"


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(inference_sh_api_keys=[KEY], default_task_duration=0.2)


@pytest.fixture
def env(server, monkeypatch):
    yield from server.fresh(monkeypatch, inference_sh_default=server.connection("inference_sh"))


def operator_run(deferrable: bool, **kwargs) -> Callable[[Evidence], None]:
    def run(evidence: Evidence) -> None:
        op = InferenceShTaskOperator(task_id="audit", app="acme/echo@v1", input={"text": "{{ ds }}"},
                                     poll_interval=0.05, deferrable=deferrable, **kwargs)  # fmt: skip
        ti, store = audit_ti(), FakeStateStore()
        context = {"ti": ti, "task_state_store": store, "ds": "2026-11-24"}
        op.render_template_fields(context, jinja_env=None) if hasattr(op, "render_template_fields") else None
        evidence.add(repr(op), {f: getattr(op, f) for f in op.template_fields}, repr(op.hook))
        try:
            evidence.add(run_deferrable(op, context) if deferrable else op.execute(context))
        finally:
            evidence.add(ti.xcoms, store.data)

    return run


def sensor_run(deferrable: bool, task_id: str = "") -> Callable[[Evidence], None]:
    def run(evidence: Evidence) -> None:
        run_id = task_id or InferenceShHook().run_task("acme/echo@v1", {"text": "s"})["id"]
        sensor = InferenceShTaskSensor(
            task_id="watch", run_id=run_id, poll_interval=0.05, deferrable=deferrable
        )
        ti = audit_ti()
        try:
            evidence.add(run_deferrable(sensor, {"ti": ti}) if deferrable else sensor.execute({"ti": ti}))
        finally:
            evidence.add(ti.xcoms, repr(sensor))

    return run


def trigger_run(evidence: Evidence) -> None:
    run_id = InferenceShHook().run_task("acme/echo@v1", {"text": "t"})["id"]
    trigger = RunStatusTrigger(hook_class=class_path(InferenceShHook), conn_id="inference_sh_default",
                               run_id=run_id, poll_interval=0.05, cancel_on_kill=True)  # fmt: skip
    evidence.add(trigger.serialize(), repr(trigger))
    event = asyncio.run(first_event(roundtrip(trigger)))
    evidence.add(event.payload, repr(event))
    asyncio.run(trigger.on_kill())


RUNS = {
    "operator-deferrable": operator_run(True),
    "operator-worker": operator_run(False),
    "operator-failing": operator_run(
        False, inference_sh_conn_id="inference_sh_default", app="acme/missing@v1"
    ),
    "operator-remote-failure": operator_run(True, output_path=None),
    "sensor-deferrable": sensor_run(True),
    "sensor-worker": sensor_run(False),
    "sensor-unknown-task": sensor_run(False, task_id="task_unknown"),
    "trigger": trigger_run,
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_key_appears_nowhere(env, caplog, capfd, name):
    evidence = collect(RUNS[name], caplog, capfd)
    assert len(evidence.texts) >= 4
    evidence.assert_clean(KEY)


def test_errors_under_faults_do_not_leak(env, caplog, capfd):
    env.control.add_faults([{"kind": "status", "status": 500, "count": 3}, {"kind": "drop", "count": 2}])
    evidence = collect(operator_run(False), caplog, capfd)
    evidence.assert_clean(KEY)


class LeakyOperator(InferenceShTaskOperator):
    """A deliberately broken operator that prints its key and pushes it to XCom itself (the
    key it puts into its returned manifest is replaced on the way out)."""

    def build_manifest(self, context, run_id, status):
        print(f"debug: using key {self.hook.settings.api_key}")  # an unmasked log line
        context["ti"].xcom_push(key="debug_key", value=self.hook.settings.api_key)
        return {**super().build_manifest(context, run_id, status), "debug_key": self.hook.settings.api_key}


@pytest.mark.parametrize("deferrable", [False, True])
def test_the_audit_fails_when_a_key_leaks(env, caplog, capfd, deferrable):
    def run(evidence: Evidence) -> None:
        op = LeakyOperator(task_id="leak", app="acme/echo@v1", input={"text": "x"}, poll_interval=0.05,
                           deferrable=deferrable)  # fmt: skip
        context = {"ti": audit_ti()}
        result = run_deferrable(op, context) if deferrable else op.execute(context)
        assert result["debug_key"] == "***"  # a returned value is cleaned of the key
        evidence.add(result)
        evidence.add(context["ti"].xcoms)

    evidence = collect(run, caplog, capfd)
    with pytest.raises(AssertionError, match="leaked"):
        evidence.assert_clean(KEY)
    assert sum(KEY in text for text in evidence.texts) >= 2  # caught in the XCom value and in the output
