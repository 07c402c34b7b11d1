"""Property: whatever JSON body or status value the server returns, the trigger never raises.

It either maps the body to a state (and ends on a terminal one) or yields a clear error event.
Bodies are served for real by the emulator (a ``body`` fault), so the whole HTTP and parsing
path is exercised.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.triggers.run_status import RunStatusTrigger

from support import TEST_KEY, first_event

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
status_values = st.one_of(
    st.integers(-5, 50), st.sampled_from(["completed", "failed", "running", "weird", "", "10"]), json_values
)
bodies = st.one_of(
    json_values.map(json.dumps),
    status_values.map(lambda s: json.dumps({"data": {"id": "t", "status": s}, "messages": []})),
    status_values.map(
        lambda s: json.dumps({"success": True, "status": 200, "data": {"id": "t", "status": s}})
    ),
    status_values.map(
        lambda s: json.dumps({"id": "t", "status": s, "status_text": s if isinstance(s, str) else None})
    ),
    st.text(max_size=30),  # not JSON at all
    st.sampled_from(
        ['{"data": {"id": "t", "status": 10', "", "null", "[]", '{"success": false}']
    ),  # truncated
)
http_status = st.sampled_from([200, 200, 200, 201, 400, 404, 409, 429, 500, 503])


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(inference_sh_api_keys=[TEST_KEY], default_task_duration=0.2)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, status=http_status)
def test_any_body_maps_to_a_state_or_a_clear_error(server, monkeypatch, body, status):
    monkeypatch.setenv("AIRFLOW_CONN_INFERENCE_SH_DEFAULT", server.connection("inference_sh"))
    server.control.reset()
    task_id = InferenceShHook().run_task("acme/echo@v1", {"text": "p"})["id"]
    server.control.add_faults(
        [{"kind": "body", "status": status, "body": body, "path_regex": "/tasks/", "count": 2}]
    )
    trigger = RunStatusTrigger(
        service=InferenceShHook.service, conn_id="inference_sh_default", run_id=task_id,
        poll_interval=0.01, max_consecutive_failures=3,
    )  # fmt: skip
    event = asyncio.run(first_event(trigger, timeout=30)).payload
    assert event["event"] in ("status", "error", "timeout")
    assert isinstance(event["message"], str) and event["message"]
    if event["event"] == "status":
        assert event["status"]["state"] in ("SUCCEEDED", "PARTIAL", "FAILED", "CANCELLED")
    json.dumps(event)  # always serializable
