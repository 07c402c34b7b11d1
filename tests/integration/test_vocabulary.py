"""One vocabulary (issue 15): ``run_id`` is the remote id in every manifest, ``on_needs_action`` is
what a task does with a run that needs action; the old names keep working for one release with an
``AirflowProviderDeprecationWarning``; the example DAGs use the new names only."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest
from airflow.exceptions import AirflowProviderDeprecationWarning

from airflow_provider_runs.core.states import ActionNeeded
from airflow_provider_runs.operators.base import RunFailedError
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator
from airflow_provider_runs.sensors.edges import EdgesRunSensor
from airflow_provider_runs.sensors.inferable import InferableRunSensor
from airflow_provider_runs.sensors.inference_sh import InferenceShTaskSensor
from airflow_provider_runs.testing.emulator.inferable_api import DEFAULT_CLUSTER

from support import TEST_KEY, make_context

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
APPROVAL = {"approval": {"tool": "send_email", "input": {"to": "x@example.com"}}}


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(
        inference_sh_api_keys=[TEST_KEY],
        default_task_duration=0.2,
        edges_input_seconds=0.01,
        inferable_step_seconds=0.05,
    )


@pytest.fixture
def emu(server, monkeypatch):
    yield from server.fresh(
        monkeypatch,
        inference_sh_default=server.connection("inference_sh"),
        edges_default=server.connection("edges", identity_mode="managed"),
        inferable_default=server.connection("inferable", cluster_id=DEFAULT_CLUSTER),
    )


def context():
    return make_context(1, None, dag_id="dag", run_id="manual__1")


def edges(**kwargs):
    defaults = {
        "task_id": "enrich",
        "action": "linkedin-extract-people",
        "inputs": [{"linkedin_profile_url": f"https://www.linkedin.com/in/p{i}"} for i in range(3)],
        "poll_interval": 0.05,
        "timeout": 30,
    }
    return EdgesActionOperator(**{**defaults, **kwargs})


def inferable(**kwargs):
    defaults = {"task_id": "agent", "initial_prompt": "Count", "poll_interval": 0.05, "timeout": 30}
    return InferableRunOperator(**{**defaults, **kwargs})


def inference_sh(**kwargs):
    defaults = {"task_id": "t", "app": "acme/echo@v1", "input": {"text": "hi"}, "poll_interval": 0.05}
    return InferenceShTaskOperator(**{**defaults, **kwargs})


def sensor(cls, run_id):
    return cls(task_id="watch", run_id=run_id, poll_interval=0.05, timeout=30)


# -- run_id in every manifest -----------------------------------------------------------------------
def test_every_manifest_names_the_remote_id_run_id(emu):
    ctx = context()
    manifests = {
        "inference_sh": inference_sh().execute(ctx),
        "edges": edges().execute(ctx),
        "inferable": inferable().execute(ctx),
    }
    for service, manifest in manifests.items():
        assert manifest["run_id"] == ctx["ti"].xcoms["run_id"] or service != "inferable", service
        assert manifest["url"].endswith(manifest["run_id"]) or service == "edges", service
    assert manifests["inference_sh"]["task_id"] == manifests["inference_sh"]["run_id"]  # deprecated copy
    assert manifests["edges"]["run_uid"] == manifests["edges"]["run_id"]  # Edges' own name, kept
    watched = {
        "inference_sh": sensor(InferenceShTaskSensor, manifests["inference_sh"]["run_id"]),
        "edges": sensor(EdgesRunSensor, manifests["edges"]["run_id"]),
        "inferable": sensor(InferableRunSensor, manifests["inferable"]["run_id"]),
    }
    for service, task in watched.items():
        assert task.execute(context())["run_id"] == manifests[service]["run_id"], service


def test_a_manifest_without_waiting_has_run_id_too(emu):
    manifest = inference_sh(wait_for_completion=False).execute(context())
    assert manifest["run_id"] == manifest["task_id"] and manifest["run_id"].startswith("task")


# -- on_needs_action --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "old", "new"),
    [
        (lambda **kw: inferable(**kw), {"on_paused": "fail"}, {"on_needs_action": "fail"}),
        (
            lambda **kw: sensor_with(InferableRunSensor, **kw),
            {"on_paused": "fail"},
            {"on_needs_action": "fail"},
        ),
        (lambda **kw: edges(**kw), {"on_blocked": "resume"}, {"on_needs_action": {"BLOCKED": "resume"}}),
        (lambda **kw: edges(**kw), {"on_stopped": "wait"}, {"on_needs_action": {"STOPPED": "wait"}}),
        (
            lambda **kw: edges(**kw),
            {"on_blocked": "wait", "on_stopped": "resume"},
            {"on_needs_action": {"BLOCKED": "wait", "STOPPED": "resume"}},
        ),
        (lambda **kw: sensor_with(EdgesRunSensor, **kw), {"on_paused": "wait"}, {"on_needs_action": "wait"}),
    ],
)
def test_old_names_warn_and_mean_the_new_one(make, old, new):
    with pytest.warns(AirflowProviderDeprecationWarning, match="use on_needs_action instead") as caught:
        before = make(**old)
    assert len(caught) == len(old)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AirflowProviderDeprecationWarning)
        after = make(**new)
    assert before.on_needs_action == after.on_needs_action
    assert list(before.stop_on_states()) == list(after.stop_on_states())


def sensor_with(cls, **kwargs):
    return cls(task_id="watch", run_id="r-1", **kwargs)


def inferable_sensor(**kwargs):
    return sensor_with(InferableRunSensor, **kwargs)


def test_old_and_new_name_together_is_an_error():
    with pytest.raises(ValueError, match="give on_needs_action only"):
        inferable(on_needs_action="fail", on_paused="wait")
    with pytest.raises(ValueError, match="give on_needs_action only"):
        edges(on_needs_action="fail", on_blocked="resume")


@pytest.mark.parametrize(
    ("make", "value", "message"),
    [
        (inferable, "resume", "on_needs_action must be one of wait, fail, ask; got 'resume'"),
        (lambda **kw: sensor_with(InferableRunSensor, **kw), "ask", "must be one of wait, fail; got 'ask'"),
        (edges, "ask", "on_needs_action must be one of fail, resume, wait; got 'ask'"),
        (edges, {"APPROVAL": "wait"}, "on_needs_action takes the reasons BLOCKED, STOPPED"),
        (edges, {"BLOCKED": "maybe"}, r"on_needs_action\['BLOCKED'\] must be one of"),
        (lambda **kw: sensor_with(EdgesRunSensor, **kw), "resume", "must be one of fail, wait"),
    ],
)
def test_bad_policies_name_the_argument(make, value, message):
    with pytest.raises(ValueError, match=message):
        make(on_needs_action=value)


def test_per_reason_policies_map_to_stop_conditions():
    task = edges(on_needs_action={"blocked": "wait"})  # reason names read in any case
    assert task.needs_action == {ActionNeeded.BLOCKED: "wait", ActionNeeded.STOPPED: "fail"}
    assert list(task.stop_on_states()) == [ActionNeeded.STOPPED]
    assert task.on_needs_action == {"BLOCKED": "wait", "STOPPED": "fail"}


def test_deprecated_on_blocked_still_resumes_a_blocked_run(emu):
    with pytest.warns(AirflowProviderDeprecationWarning):
        task = edges(parameters={"_emulator": {"block_run": True}}, on_blocked="resume")
    assert task.execute(context())["status"] == "SUCCEEDED"
    assert emu.control.counters()["edges"]["resumes"] == 1


def test_deprecated_on_paused_still_fails_on_an_approval(emu):
    with pytest.warns(AirflowProviderDeprecationWarning):
        task = inferable(tools=["send_email"], context={"_emulator": APPROVAL}, on_paused="fail")
    with pytest.raises(RunFailedError, match="on_needs_action='fail'"):
        task.execute(context())


def test_new_name_fails_on_an_approval_without_warning(emu):
    with warnings.catch_warnings():
        warnings.simplefilter("error", AirflowProviderDeprecationWarning)
        task = inferable(tools=["send_email"], context={"_emulator": APPROVAL}, on_needs_action="fail")
        with pytest.raises(RunFailedError, match="waits for an approval"):
            task.execute(context())


# -- the example DAGs speak the new vocabulary ---------------------------------------------------
@pytest.mark.parametrize("name", ["example_edges", "example_inferable", "example_inference_sh"])
def test_example_dags_emit_no_deprecation_warning(name):
    spec = importlib.util.spec_from_file_location(f"vocabulary_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AirflowProviderDeprecationWarning)
        spec.loader.exec_module(module)
    text = (EXAMPLES / f"{name}.py").read_text()
    for old in ("on_paused=", "on_blocked=", "on_stopped=", "['task_id']"):
        assert old not in text, old
