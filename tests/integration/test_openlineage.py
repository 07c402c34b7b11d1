"""OpenLineage against the emulator: each operator runs for real (in the worker, or deferred and
resumed on a fresh operator object as Airflow does), then OpenLineage's own
``ExtractorManager.extract_metadata`` (what its listener calls when a task ends) asks it for its
lineage, and OpenLineage's adapter turns that into the COMPLETE event it would emit.

Skipped without ``apache-airflow-providers-openlineage``.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

pytest.importorskip("airflow.providers.openlineage")

from airflow.providers.common.compat.openlineage.facet import Dataset, ExternalQueryRunFacet
from airflow.providers.common.compat.sdk import TaskDeferred
from airflow.providers.openlineage.extractors import ExtractorManager, OperatorLineage
from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter
from airflow.utils.state import TaskInstanceState
from openlineage.client import OpenLineageClient
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Transport

from airflow_provider_runs.lineage_facet import PRODUCER, RemoteRunFacet
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator
from airflow_provider_runs.testing.emulator.inferable_api import DEFAULT_CLUSTER

from support import TEST_KEY, first_event, make_context, roundtrip

EDGES_KEY = "edges_lineage_key_000000001"
INFERABLE_KEY = "sk_inf_lineage_key_00000000000000000000000000"
KEYS = (TEST_KEY, EDGES_KEY, INFERABLE_KEY)
PATHS = ["deferrable", "worker"]


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(
        inference_sh_api_keys=[TEST_KEY],
        default_task_duration=0.3,
        edges_api_keys=[EDGES_KEY],
        edges_input_seconds=0.01,
        inferable_clusters={DEFAULT_CLUSTER: [INFERABLE_KEY]},
        inferable_step_seconds=0.1,
    )


@pytest.fixture
def emu(server, monkeypatch):
    yield from server.fresh(
        monkeypatch,
        edges_default=server.connection("edges", identity_mode="managed"),
        inference_sh_default=server.connection("inference_sh"),
        inferable_default=server.connection("inferable", cluster_id=DEFAULT_CLUSTER),
    )


class Recording(Transport):
    """An OpenLineage transport that keeps the events it is given."""

    kind = "recording"

    def __init__(self) -> None:
        self.events: list = []

    def emit(self, event):
        self.events.append(event)


def run(make_operator, path: str, context: dict):
    """Run a task like Airflow: in the worker, or deferred and resumed on a *new* operator object
    (a resumed task is loaded afresh); return the operator that ended the task and its result."""
    op = make_operator()
    op.deferrable = path == "deferrable"
    try:
        result = op.execute(context)
        assert not op.deferrable, "the task did not defer"
        return op, result
    except TaskDeferred as deferred:
        while True:
            op = make_operator()
            op.deferrable = True
            event = asyncio.run(first_event(roundtrip(deferred.trigger)))
            try:
                method = getattr(op, deferred.method_name)
                return op, method(context, event=event.payload, **(deferred.kwargs or {}))
            except TaskDeferred as again:
                deferred = again


def lineage_of(op, context) -> OperatorLineage:
    """What OpenLineage's listener extracts from the task that ended successfully."""
    return ExtractorManager().extract_metadata(
        dagrun=SimpleNamespace(run_id="manual__1"),
        task=op,
        task_instance_state=TaskInstanceState.SUCCESS,
        task_instance=context["ti"],
    )


def emitted(lineage: OperatorLineage) -> dict:
    """The COMPLETE event OpenLineage's adapter emits with ``lineage``, as JSON."""
    transport = Recording()
    adapter = OpenLineageAdapter(client=OpenLineageClient(transport=transport))
    adapter.complete_task(
        run_id="01935b6e-0000-7000-8000-000000000000",
        job_name="dag.task",
        end_time="2026-11-24T10:00:00+00:00",
        task=lineage,
        nominal_start_time=None,
        nominal_end_time=None,
        owners=[],
        tags=[],
        job_description=None,
    )
    (event,) = transport.events
    return json.loads(Serde.to_json(event))


def run_facets(service: str, run_id: str, url: str) -> dict:
    return {
        "externalQuery": ExternalQueryRunFacet(externalQueryId=run_id, source=service, producer=PRODUCER),
        "runs_remoteRun": RemoteRunFacet(service=service, runId=run_id, url=url),
    }


def check_event(lineage: OperatorLineage, service: str, run_id: str, url: str) -> dict:
    event = emitted(lineage)
    assert event["eventType"] == "COMPLETE"
    assert event["run"]["facets"]["externalQuery"]["externalQueryId"] == run_id
    assert event["run"]["facets"]["runs_remoteRun"] == {
        "_producer": PRODUCER,
        "_schemaURL": RemoteRunFacet._get_schema(),
        "service": service,
        "runId": run_id,
        "url": url,
    }
    text = json.dumps(event)
    assert not any(key in text for key in KEYS)
    return event


@pytest.mark.parametrize("path", PATHS)
def test_edges_async_run_reads_inputs_path_and_writes_output_path(emu, path, tmp_path):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(
        "".join(
            json.dumps({"linkedin_profile_url": f"https://www.linkedin.com/in/p-{i}"}) + "\n"
            for i in range(3)
        )
    )
    output = tmp_path / "results" / "out.jsonl"
    context = make_context(dag_id="dag", run_id="manual__1")

    def make():
        return EdgesActionOperator(
            task_id="enrich",
            action="linkedin-extract-people",
            inputs_path=str(inputs),
            output_path=output.as_uri(),  # an object-storage URL: file:///...
            poll_interval=0.05,
            timeout=30,
        )

    op, manifest = run(make, path, context)
    assert manifest["results"] == 3 and output.exists()
    run_id, url = context["ti"].xcoms["run_id"], context["ti"].xcoms["run_url"]
    lineage = lineage_of(op, context)
    assert lineage == OperatorLineage(
        inputs=[Dataset(namespace="file", name=str(inputs))],
        outputs=[Dataset(namespace="file", name=str(output))],
        run_facets=run_facets("edges", run_id, url),
    )
    event = check_event(lineage, "edges", run_id, url)
    assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [("file", str(output))]


@pytest.mark.parametrize("path", PATHS)
def test_inference_sh_task_reads_and_writes_files(emu, path, tmp_path):
    output_file = tmp_path / "image.json"
    context = make_context()

    def make():
        return InferenceShTaskOperator(
            task_id="render",
            app="acme/image@v1",
            input={
                "prompt": "a cat",
                "style": {"uri": "https://cdn.example.com/styles/ink.png", "filename": "ink.png"},
                "mask": "s3://media-bucket/masks/cat.png",
            },
            output_path=str(output_file),
            poll_interval=0.05,
        )

    op, manifest = run(make, path, context)
    image_uri = json.loads(output_file.read_text())["image"]["uri"]  # served by the emulator
    image = urlsplit(image_uri)
    run_id, url = manifest["task_id"], manifest["url"]
    lineage = lineage_of(op, context)
    assert lineage == OperatorLineage(
        inputs=[
            Dataset(namespace="https://cdn.example.com", name="/styles/ink.png"),
            Dataset(namespace="s3://media-bucket", name="masks/cat.png"),
        ],
        outputs=[
            Dataset(namespace=f"{image.scheme}://{image.netloc}", name=image.path),
            Dataset(namespace="file", name=str(output_file)),
        ],
        run_facets=run_facets("inference_sh", run_id, url),
    )
    assert url == context["ti"].xcoms["run_url"]
    check_event(lineage, "inference_sh", run_id, url)


@pytest.mark.parametrize("path", PATHS)
def test_inferable_run_gives_its_run_only(emu, path):
    context = make_context(dag_id="dag", run_id="manual__1")

    def make():
        return InferableRunOperator(
            task_id="agent", initial_prompt="Count open tickets", poll_interval=0.05, timeout=30
        )

    op, manifest = run(make, path, context)
    lineage = lineage_of(op, context)
    assert lineage == OperatorLineage(run_facets=run_facets("inferable", manifest["run_id"], manifest["url"]))
    event = check_event(lineage, "inferable", manifest["run_id"], manifest["url"])
    assert event["inputs"] == [] and event["outputs"] == []


def test_a_run_not_waited_for_has_its_run_but_no_output(emu, tmp_path):
    """``wait_for_completion=False``: the task returns once the task exists; nothing was written."""
    context = make_context()
    op = InferenceShTaskOperator(
        task_id="render",
        app="acme/image@v1",
        input={"prompt": "a dog", "mask": "gs://masks/dog.png"},
        output_path=str(tmp_path / "never.json"),
        wait_for_completion=False,
    )
    manifest = op.execute(context)
    lineage = lineage_of(op, context)
    assert lineage.inputs == [Dataset(namespace="gs://masks", name="dog.png")] and lineage.outputs == []
    assert lineage.run_facets == run_facets("inference_sh", manifest["task_id"], manifest["url"])


def test_a_connection_gone_at_lineage_time_gives_empty_lineage_and_the_task_result_stands(
    emu, monkeypatch, caplog
):
    """The lineage is asked after the task ended: a failure there is a warning, never an error."""
    context = make_context(dag_id="dag", run_id="manual__1")
    op = InferableRunOperator(task_id="agent", initial_prompt="Count", poll_interval=0.05, timeout=30)
    assert op.execute(context)["status"] == "done"
    monkeypatch.setattr(type(op), "run_url", lambda self, run_id: (_ for _ in ()).throw(OSError("gone")))
    lineage = lineage_of(op, context)
    assert lineage == OperatorLineage()
    assert "no lineage for task agent (OSError: gone)" in caplog.text


def test_openlineage_asks_the_operators_themselves():
    """No extractor to register: OpenLineage's default extractor calls the operator's method."""
    operators = [
        EdgesActionOperator(task_id="e", action="linkedin-extract-people", inputs=[{"a": 1}]),
        InferenceShTaskOperator(task_id="i", app="acme/echo@v1"),
        InferableRunOperator(task_id="a", initial_prompt="p"),
    ]
    for op in operators:
        assert ExtractorManager().get_extractor_class(op).__name__ == "DefaultExtractor"
