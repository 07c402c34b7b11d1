"""A DAG parse does not load the HTTP libraries: importing an operator or sensor module leaves
aiohttp, requests and urllib3 out of ``sys.modules`` (they load when a transport is first built).

Structure only, never timing (``benchmarks/import_cost.py`` measures the cost). Each check runs in
a fresh interpreter: this test process has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_runs.services import BUILT_IN

ROOT = Path(__file__).resolve().parents[2]
HTTP_LIBRARIES = ("aiohttp", "requests", "urllib3")
MODULES = [module for service in BUILT_IN for module in (*service.operators, *service.sensors)]


def loaded_after(statements: str) -> dict[str, bool]:
    """``{library: loaded}`` in a fresh interpreter after ``statements``."""
    report = f"print(json.dumps({{m: m in sys.modules for m in {HTTP_LIBRARIES!r}}}))"
    script = f"import json, sys\n{statements}\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_every_operator_and_sensor_module_is_checked():
    assert all(".operators." in m or ".sensors." in m for m in MODULES) and len(set(MODULES)) == len(MODULES)
    for service in ("inference_sh", "inferable", "edges"):
        assert {f"airflow_provider_runs.{role}.{service}" for role in ("operators", "sensors")} <= set(
            MODULES
        )


@pytest.mark.parametrize("module", MODULES)
def test_importing_an_operator_or_sensor_loads_no_http_library(module):
    assert loaded_after(f"import {module}") == dict.fromkeys(HTTP_LIBRARIES, False)


def test_a_dag_file_using_every_operator_loads_no_http_library():
    imports = "\n".join(
        f"from {module} import *" for module in MODULES
    )  # what a DAG file does, and the names each exports
    assert loaded_after(f"from airflow.sdk import DAG\n{imports}") == dict.fromkeys(HTTP_LIBRARIES, False)


def test_the_sync_transport_loads_requests_when_first_asked_for():
    loaded = loaded_after(
        "import airflow_provider_runs.operators.inference_sh\n"
        "from airflow_provider_runs.core.http import SyncTransport"
    )
    assert loaded["requests"] and loaded["urllib3"]


def test_the_async_transport_loads_aiohttp_when_first_asked_for():
    loaded = loaded_after(
        "import airflow_provider_runs.operators.inference_sh\n"
        "from airflow_provider_runs.core.http import AsyncTransport, shared_session"
    )
    assert loaded["aiohttp"]


def test_a_hook_builds_its_transport_on_first_use():
    """The hook imports the transport module when it builds one (no HTTP request is sent)."""
    loaded = loaded_after(
        "import os\n"
        "os.environ['AIRFLOW_CONN_INFERENCE_SH_DEFAULT'] = "
        "json.dumps({'conn_type': 'inference_sh', 'host': 'http://127.0.0.1:9', 'password': 'k'})\n"
        "from airflow_provider_runs.hooks.inference_sh import InferenceShHook\n"
        "hook = InferenceShHook()\n"
        "assert 'requests' not in sys.modules\n"
        "assert type(hook.transport).__name__ == 'SyncTransport'"
    )
    assert loaded["requests"] and not loaded["aiohttp"]


def test_the_worker_path_tells_a_refused_write_without_loading_aiohttp():
    """The failure types of a library are resolved once it is loaded: with requests alone, a
    refused connection is still known as not sent (a write then is not reported ambiguous)."""
    loaded = loaded_after(
        "import socket\n"
        "from airflow_provider_runs.core.errors import AmbiguousWriteError, NotSentError\n"
        "from airflow_provider_runs.core.http import ApiRequest, SyncTransport, TransportConfig\n"
        "from airflow_provider_runs.core.retry import NO_RETRY\n"
        "with socket.socket() as sock:\n"
        "    sock.bind(('127.0.0.1', 0))\n"
        "    port = sock.getsockname()[1]\n"
        "cfg = TransportConfig('edges', f'http://127.0.0.1:{port}', {}, retry=NO_RETRY)\n"
        "try:\n"
        "    SyncTransport(cfg).send(ApiRequest('POST', '/runs', json_body={'x': 1}))\n"
        "except NotSentError as exc:\n"
        "    assert not isinstance(exc, AmbiguousWriteError), exc\n"
        "else:\n"
        "    raise AssertionError('sent to a closed port')"
    )
    assert loaded == {"aiohttp": False, "requests": True, "urllib3": True}


def test_the_lazy_names_are_the_documented_ones():
    import airflow_provider_runs.core.http as http

    assert set(http.LAZY) <= set(http.__all__)
    for name in http.LAZY:
        assert getattr(http, name) is getattr(sys.modules[f"{http.__name__}.{http.LAZY[name]}"], name)
    with pytest.raises(AttributeError, match="no_such_name"):
        http.no_such_name  # noqa: B018
