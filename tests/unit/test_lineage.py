"""OpenLineage, the pure parts: dataset naming, file URLs in JSON values, the Edges batch's files,
the facets and their schema, and the guarantees (never raises, no secret, no import of OpenLineage
until asked). The operators against the emulator: ``tests/integration/test_openlineage.py``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_provider_runs.core.redaction import Redactor
from airflow_provider_runs.lineage import (
    MAX_FILES,
    dataset_name,
    file_uris,
    operator_lineage,
)
from airflow_provider_runs.operators.edges_results import lineage_paths
from airflow_provider_runs.services import BUILT_IN

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_MODULES = [module for service in BUILT_IN for module in service.operators]
SECRET = "sk_lineage_secret_0123456789"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/key/part-0.jsonl", ("s3://bucket", "key/part-0.jsonl")),
        ("s3://aws_default@bucket/key.csv", ("s3://bucket", "key.csv")),  # ObjectStoragePath's conn id
        ("s3a://bucket/key", ("s3://bucket", "key")),
        ("gs://bucket/dir/file.json", ("gs://bucket", "dir/file.json")),
        ("gcs://bucket/file.json", ("gs://bucket", "file.json")),
        ("https://cdn.example.com/a/b.png", ("https://cdn.example.com", "/a/b.png")),
        ("https://user:pw@host.example:8443/x?X-Amz-Signature=abc#frag", ("https://host.example:8443", "/x")),
        ("HTTP://Host.Example/x", ("http://host.example", "/x")),
        ("inf://files/abc123", ("inf://files", "/abc123")),
        ("file:///tmp/out.jsonl", ("file", "/tmp/out.jsonl")),
        ("file://localhost/tmp/out.jsonl", ("file", "/tmp/out.jsonl")),
        ("file://nas/share/out.jsonl", ("file://nas", "/share/out.jsonl")),
        ("/tmp/in.csv", ("file", "/tmp/in.csv")),
        ("data/in.jsonl", ("file", "data/in.jsonl")),
        (" /tmp/spaced.csv ", ("file", "/tmp/spaced.csv")),
        ("s3://bucket", None),  # a bucket is no file
        ("s3://bucket/", None),
        ("data:text/plain;base64,aGk=", None),
        ("mailto:someone@example.com", None),
        ("https:///no-host", None),
        ("http://host:notaport/x", None),
        ("", None),
    ],
)
def test_dataset_names_follow_the_openlineage_naming_spec(uri, expected):
    assert dataset_name(uri) == expected


def test_file_urls_are_found_in_nested_values_in_order_and_once():
    value = {
        "prompt": "draw https://example.com/cat.png please",  # text that mentions a URL is no file
        "style": {"uri": "https://cdn.example.com/styles/ink.png", "filename": "ink.png"},
        "masks": ["s3://media/masks/1.png", "s3://media/masks/1.png", {"uri": "inf://files/f_2"}],
        "site": "https://example.com",  # a host, no file
        "inline": "data:image/png;base64,iVBORw0KGgo=",
        "local": "/tmp/not-a-url.png",  # a plain path in an app's JSON is text, not a file
        "count": 3,
        "nothing": None,
    }
    assert file_uris(value) == [
        "https://cdn.example.com/styles/ink.png",
        "s3://media/masks/1.png",
        "inf://files/f_2",
    ]


def test_file_urls_of_non_json_and_empty_values():
    assert file_uris(None) == [] and file_uris("s3://b/k") == ["s3://b/k"] and file_uris(7) == []


def test_file_urls_are_capped():
    value = [f"s3://bucket/{i}.png" for i in range(MAX_FILES + 50)]
    assert len(file_uris(value)) == MAX_FILES


@pytest.mark.parametrize(
    ("mode", "inputs_path", "written", "expected"),
    [
        ("async", "/in.jsonl", "s3://b/out.jsonl", (["/in.jsonl"], ["s3://b/out.jsonl"])),
        ("async", None, "/out.jsonl", ([], ["/out.jsonl"])),  # inputs given as a list
        ("async", "/in.jsonl", None, (["/in.jsonl"], [])),  # results not (yet) written
        ("live", None, None, ([], [])),
        ("schedule", "/in.jsonl", None, ([], [])),  # the schedule's runs happen later
    ],
)
def test_edges_batch_files(mode, inputs_path, written, expected):
    assert lineage_paths(mode, inputs_path, written) == expected


# -- with OpenLineage --------------------------------------------------------------------------
class FakeOperator:
    """What :func:`operator_lineage` reads of a run operator."""

    hook_class = SimpleNamespace(service="edges")
    task_id = "enrich"

    def __init__(self, run_id="run_1", inputs=(), outputs=(), fail=None):
        self._run_id = run_id
        self.files = (list(inputs), list(outputs))
        self.fail = fail
        self.hook = SimpleNamespace(redactor=Redactor([SECRET]))

    def lineage_datasets(self):
        if self.fail:
            raise self.fail
        return self.files

    def run_url(self, run_id):
        return f"https://app.example/runs/{run_id}?token={SECRET}"


@pytest.fixture
def ol():
    """The OpenLineage classes (the tests using them skip without the provider)."""
    pytest.importorskip("airflow.providers.openlineage")
    from airflow.providers.common.compat.openlineage.facet import Dataset, ExternalQueryRunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_runs.lineage_facet import PRODUCER, RemoteRunFacet

    return SimpleNamespace(
        Dataset=Dataset,
        ExternalQueryRunFacet=ExternalQueryRunFacet,
        OperatorLineage=OperatorLineage,
        RemoteRunFacet=RemoteRunFacet,
        PRODUCER=PRODUCER,
    )


def test_lineage_of_a_run_with_files(ol):
    op = FakeOperator(inputs=["/data/in.csv", "/data/in.csv"], outputs=["s3://bkt/out.jsonl", "data:,x"])
    lineage = operator_lineage(op)
    redacted_url = "https://app.example/runs/run_1?token=***"
    assert lineage == ol.OperatorLineage(
        inputs=[ol.Dataset(namespace="file", name="/data/in.csv")],
        outputs=[ol.Dataset(namespace="s3://bkt", name="out.jsonl")],
        run_facets={
            "externalQuery": ol.ExternalQueryRunFacet(
                externalQueryId="run_1", source="edges", producer=ol.PRODUCER
            ),
            "runs_remoteRun": ol.RemoteRunFacet(service="edges", runId="run_1", url=redacted_url),
        },
    )


def test_no_run_no_run_facets(ol):
    assert operator_lineage(FakeOperator(run_id=None)) == ol.OperatorLineage()


def test_a_failure_logs_a_warning_and_gives_empty_lineage(ol, caplog):
    op = FakeOperator(fail=RuntimeError(f"boom with {SECRET}"))
    with caplog.at_level(logging.WARNING, logger="airflow_provider_runs.lineage"):
        assert operator_lineage(op) == ol.OperatorLineage()
    assert "no lineage for task enrich" in caplog.text and "RuntimeError: boom with ***" in caplog.text
    assert SECRET not in caplog.text


def test_a_failure_reading_the_connection_still_gives_empty_lineage(ol, caplog):
    class Broken(FakeOperator):
        @property
        def hook(self):
            raise KeyError("connection edges_default")

        @hook.setter
        def hook(self, value):
            pass

    with caplog.at_level(logging.WARNING, logger="airflow_provider_runs.lineage"):
        assert operator_lineage(Broken()) == ol.OperatorLineage()
    assert "(KeyError)" in caplog.text


def test_the_facet_serializes_and_matches_its_shipped_schema(ol):
    from jsonschema import Draft202012Validator
    from openlineage.client.serde import Serde
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    facet = ol.RemoteRunFacet(
        service="inference_sh", runId="task_1", url="https://app.inference.sh/tasks/task_1"
    )
    data = json.loads(Serde.to_json(facet))
    assert data == {
        "_producer": ol.PRODUCER,
        "_schemaURL": facet._schemaURL,
        "service": "inference_sh",
        "runId": "task_1",
        "url": "https://app.inference.sh/tasks/task_1",
    }
    assert facet._schemaURL.endswith("/airflow_provider_runs/lineage_facet.json#/$defs/RemoteRunFacet")
    schema = json.loads((ROOT / "airflow_provider_runs" / "lineage_facet.json").read_text())
    # OpenLineage's RunFacet (BaseFacet): _producer and _schemaURL, both URIs; fetched nowhere
    run_facet = {
        "type": "object",
        "properties": {"_producer": {"type": "string"}, "_schemaURL": {"type": "string"}},
        "required": ["_producer", "_schemaURL"],
    }
    spec = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
    registry = Registry().with_resource(
        spec, Resource.from_contents({"$defs": {"RunFacet": run_facet}}, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator({"$ref": "#/$defs/RemoteRunFacet", **schema}, registry=registry)
    assert list(validator.iter_errors(data)) == []
    assert list(validator.iter_errors({**data, "runId": 5}))
    assert list(validator.iter_errors({k: v for k, v in data.items() if k != "service"}))


# -- without OpenLineage ------------------------------------------------------------------------
def fresh_interpreter(script: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()[-1]


def test_operator_modules_do_not_import_openlineage():
    """Airflow's providers manager reads every provider's ``get_provider_info`` (OpenLineage's too);
    importing the operators adds no OpenLineage module to what Airflow loaded."""
    imports = "\n".join(f"import {module}" for module in OPERATOR_MODULES)
    added = fresh_interpreter(
        "import json, sys\nimport airflow.sdk\nbefore = set(sys.modules)\n"
        f"{imports}\n"
        "print(json.dumps(sorted(m for m in set(sys.modules) - before if 'openlineage' in m "
        "or m == 'airflow_provider_runs.lineage_facet')))"
    )
    # every operator module of the three services (run operators and day-two operators)
    assert len(OPERATOR_MODULES) >= 3 * 3 and json.loads(added) == []
    client = fresh_interpreter(
        f"import sys\n{imports}\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'openlineage'))"
    )
    assert client == "[]"


def test_without_openlineage_the_operators_answer_none():
    """OpenLineage not installed (its imports fail): the method still answers, quietly."""
    answer = fresh_interpreter(
        "import sys\n"
        "for name in ('airflow.providers.openlineage.extractors', 'openlineage'):\n"
        "    sys.modules[name] = None  # makes importing them fail, as when they are not installed\n"
        "from airflow_provider_runs.operators.inferable import InferableRunOperator\n"
        "op = InferableRunOperator(task_id='t', initial_prompt='p')\n"
        "print(repr(op.get_openlineage_facets_on_complete(None)))"
    )
    assert answer == "None"
