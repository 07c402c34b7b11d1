"""The inference.sh emulator speaks the spec: real HTTP with requests."""

from __future__ import annotations

import json
import time

import pytest
import requests

from airflow_provider_runs.testing.emulator import EmulatorConfig, EmulatorServer

KEY = "inf_emulator_tests_key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(
        inference_sh_api_keys=[KEY], default_task_duration=0.3, stream_heartbeat_seconds=0.2
    )


@pytest.fixture
def api(server):
    server.control.reset()
    return server.client("inference_sh", KEY)


def create(api, input_=None, **body):
    resp = api(
        "POST", "/run?wait=false", json={"app": "acme/echo@v1", "input": input_ or {"text": "hi"}, **body}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def wait_done(api, task_id, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        status = api("GET", f"/tasks/{task_id}/status").json()["data"]["status"]
        if status >= 10:
            return api("GET", f"/tasks/{task_id}").json()["data"]
        time.sleep(0.05)
    raise AssertionError("task did not finish")


def test_both_create_routes_and_current_envelope(api):
    for path in ("/run", "/apps/run"):
        resp = api("POST", path, json={"app": "acme/echo@v1", "input": {"text": "x"}})
        body = resp.json()
        assert (
            resp.status_code == 200 and set(body) == {"data", "messages"} and body["data"]["status"] in (1, 2)
        )


def test_wait_returns_the_finished_task(api):
    resp = api("POST", "/run?wait=true", json={"app": "acme/echo@v1", "input": {"text": "w"}})
    assert resp.json()["data"]["status"] == 10 and resp.json()["data"]["output"] == {"text": "w"}


def test_v2_header_and_problem_json(api):
    resp = api("GET", "/tasks/task_nope", headers={"X-API-Version": "2"})
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["type"].endswith("/not_found")
    ok = api(
        "POST", "/run", json={"app": "acme/echo@v1", "input": {"text": "x"}}, headers={"X-API-Version": "2"}
    )
    assert "data" not in ok.json() and ok.json()["id"].startswith("task_")


def test_auth(api):
    resp = requests.get(api.server.service_url("inference_sh") + "/tasks/x", timeout=5)
    assert resp.status_code == 401 and resp.json()["type"].endswith("/unauthorized")
    resp = api("GET", "/tasks/x", headers={"Authorization": "Bearer wrong"})
    assert resp.status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"input": {"text": "x"}}, 400, "invalid_request"),
        ({"app": "bad ref", "input": {}}, 400, "invalid_request"),
        ({"app": "acme/nothing@v1", "input": {}}, 404, "not_found"),
        ({"app": "acme/echo@v1"}, 400, "invalid_request"),
        ({"app": "acme/echo@v1", "input": "x"}, 400, "invalid_request"),
        ({"app": "acme/echo@v1", "input": {"wrong": 1}}, 422, "validation_error"),
        ({"app": "acme/echo@v1:nofunc", "input": {"text": "x"}}, 422, "validation_error"),
        ({"app": "acme/echo@v1", "input": {"text": "x"}, "infra": "moon"}, 400, "invalid_request"),
        ({"app": "acme/echo@v1", "input": {"text": "x"}, "webhook": "nope"}, 400, "invalid_request"),
        ({"app": "acme/echo@v1", "input": {"text": "x"}, "session_timeout": 10}, 400, "invalid_request"),
        (
            {"app": "acme/echo@v1", "input": {"text": "x"}, "session": "new", "session_timeout": 0},
            400,
            "invalid_request",
        ),
        (
            {"app": "acme/echo@v1", "input": {"text": "x"}, "session": "sess_missing"},
            404,
            "SESSION_NOT_FOUND",
        ),
    ],
)
def test_validation(api, body, status, code):
    resp = api("POST", "/run", json=body)
    assert resp.status_code == status and resp.json()["type"].rsplit("/", 1)[-1] == code, resp.text


def test_unknown_function_lists_valid_names(api):
    resp = api("POST", "/run", json={"app": "acme/echo@v1:nofunc", "input": {"text": "x"}})
    assert "run" in resp.json()["detail"] and "shout" in resp.json()["detail"]


def test_function_and_progression_events(api):
    task = create(api, {"text": "loud"}, function="shout")
    done = wait_done(api, task["id"])
    assert done["output"] == {"text": "LOUD"} and done["error"] == ""
    statuses = [e["status"] for e in done["events"]]
    assert statuses == [1, 2, 3, 4, 5, 6, 7, 9, 10]


@pytest.mark.parametrize(("outcome", "code"), [("failed", 11), ("cancelled", 12), ("rejected", 13)])
def test_outcomes(api, outcome, code):
    task = create(api, {"text": "x", "_emulator": {"outcome": outcome, "duration": 0.1, "error": "oops"}})
    done = wait_done(api, task["id"])
    assert done["status"] == code and done["output"] is None
    assert (done["error"] != "") == (outcome in ("failed", "rejected"))


def test_cancel_then_409(api):
    task = create(api, {"text": "x", "_emulator": {"outcome": "stuck"}})
    resp = api("POST", f"/tasks/{task['id']}/cancel", json={"force": False, "timeout": 1000})
    assert resp.json()["data"] == {"id": task["id"], "status": 12, "cancelled": True}
    assert wait_done(api, task["id"])["status"] == 12
    again = api("POST", f"/tasks/{task['id']}/cancel")
    assert again.status_code == 409 and again.json()["type"].endswith("/invalid_transition")
    assert api.server.control.counters()["inference_sh"]["cancels"] == 1


def test_ndjson_stream(api):
    task = create(api, {"text": "s", "_emulator": {"status_sequence": [["queued", 0.1], ["running", 0.5]]}})
    resp = api("GET", f"/tasks/{task['id']}/stream", headers={"Accept": "application/x-ndjson"}, stream=True)
    lines = [json.loads(line) for line in resp.iter_lines() if line]
    assert lines[-1]["status"] == 10 and lines[-1]["output"] == {"text": "s"}
    assert any("fields" in line for line in lines)  # partial updates
    assert any(line.get("type") == "heartbeat" for line in lines)


def test_sse_stream(api):
    task = create(api, {"text": "s", "_emulator": {"status_sequence": [["running", 0.5]]}})
    resp = api("GET", f"/tasks/{task['id']}/stream", headers={"Accept": "text/event-stream"}, stream=True)
    text = resp.content.decode()
    assert "event: update" in text and "event: done" in text and ": heartbeat" in text


def test_list_filters_sort_cursor(api):
    ids = [create(api, {"text": f"n{i}"})["id"] for i in range(5)]
    create(api, {"text": "f", "_emulator": {"outcome": "failed", "duration": 0.05}})
    time.sleep(0.2)
    page = api(
        "POST", "/tasks/list", json={"limit": 2, "sort": [{"field": "created_at", "dir": "asc"}]}
    ).json()["data"]
    assert [t["id"] for t in page["items"]] == ids[:2] and page["has_next"] and page["total_items"] == 6
    page2 = api(
        "POST",
        "/tasks/list",
        json={"limit": 2, "cursor": page["next_cursor"], "sort": [{"field": "created_at", "dir": "asc"}]},
    ).json()["data"]
    assert [t["id"] for t in page2["items"]] == ids[2:4] and page2["has_previous"]
    failed = api(
        "POST",
        "/tasks/list",
        json={"limit": -1, "filters": [{"field": "status", "operator": "eq", "value": "failed"}]},
    ).json()["data"]
    assert len(failed["items"]) == 1
    bad = api(
        "POST", "/tasks/list", json={"filters": [{"field": "status", "operator": "eq", "value": "nope"}]}
    )
    assert bad.status_code == 400 and bad.json()["type"].endswith("/invalid_filter")
    via_get = api(
        "GET", "/tasks", params={"limit": 3, "sort": json.dumps([{"field": "created_at", "dir": "desc"}])}
    )
    assert len(via_get.json()["data"]["items"]) == 3


def test_sessions(api):
    first = create(api, {"label": "a"}, app="acme/counter@v1", session="new", session_timeout=5)
    session_id = first["session_id"]
    assert session_id.startswith("sess_")
    second = create(api, {"label": "b"}, app="acme/counter@v1", session=session_id)
    assert wait_done(api, second["id"])["output"]["count"] == 2
    info = api("GET", f"/sessions/{session_id}").json()["data"]
    assert info["status"] == "active" and info["call_count"] == 2
    mismatch = api(
        "POST", "/run", json={"app": "acme/echo@v1", "input": {"text": "x"}, "session": session_id}
    )
    assert mismatch.status_code == 409 and mismatch.json()["type"].endswith("/APP_MISMATCH")
    assert api("POST", f"/sessions/{session_id}/keepalive").status_code == 200
    api.server.control.advance(60)
    expired = api("POST", "/run", json={"app": "acme/counter@v1", "input": {}, "session": session_id})
    assert expired.status_code == 410 and expired.json()["type"].endswith("/SESSION_EXPIRED")
    third = create(api, {"label": "c"}, app="acme/counter@v1", session="new")
    assert api("DELETE", f"/sessions/{third['session_id']}").status_code == 204
    ended = api("POST", "/run", json={"app": "acme/counter@v1", "input": {}, "session": third["session_id"]})
    assert ended.status_code == 410 and ended.json()["type"].endswith("/SESSION_ENDED")


def test_files_upload_and_output_file(api):
    files = api(
        "POST",
        "/files",
        json={"files": [{"uri": "", "filename": "a.txt", "content_type": "text/plain", "size": 3}]},
    ).json()["data"]
    assert isinstance(files, list) and files[0]["upload_url"]
    assert requests.put(files[0]["upload_url"], data=b"abc", timeout=5).status_code == 200
    assert requests.get(files[0]["uri"], timeout=5).content == b"abc"  # no auth needed
    task = create(api, {"prompt": "sunset"}, app="acme/image@v1")
    image = wait_done(api, task["id"])["output"]["image"]
    assert requests.get(image["uri"], timeout=5).content == b"rendered: sunset\n"


def test_webhook_delivered_once(api):
    sink = api.server.url + "/_emulator/webhooks/sink"
    task = create(api, {"text": "hook"}, webhook=sink)
    wait_done(api, task["id"])
    deadline = time.time() + 5
    while time.time() < deadline and not api.server.control.webhooks()["received"]:
        time.sleep(0.05)
    time.sleep(0.3)
    received = api.server.control.webhooks()["received"]
    assert (
        len(received) == 1 and received[0]["body"]["id"] == task["id"] and received[0]["body"]["status"] == 10
    )
    assert "data" not in received[0]["body"]  # webhooks are never enveloped


def test_faults_and_counters(api):
    control = api.server.control
    control.add_faults([{"kind": "status", "status": 429, "retry_after": 3, "count": 1}])
    resp = api("GET", "/tasks/x")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "3"
    control.add_faults([{"kind": "drop", "count": 1}])
    with pytest.raises(requests.exceptions.RequestException):
        api("GET", "/tasks/x")
    control.add_faults([{"kind": "status", "status": 503, "method": "POST", "phase": "after", "count": 1}])
    assert api("POST", "/run", json={"app": "acme/echo@v1", "input": {"text": "x"}}).status_code == 503
    counters = control.counters()
    assert counters["inference_sh"]["tasks_created"] == 1  # processed, then answered 503
    assert counters["faults_injected"]["429"] == 1 and counters["faults_injected"]["drop"] == 1
    assert counters["inference_sh"]["requests"]["GET /tasks/x"] == 2  # faulted before routing: raw path
    api("GET", "/tasks/x")
    assert control.counters()["inference_sh"]["requests"]["GET /tasks/{task_id}"] == 1


def test_legacy_numbering_server():
    config = EmulatorConfig(
        inference_sh_api_keys=[KEY],
        inference_sh_status_numbering="legacy",
        inference_sh_envelope="v1",
        default_task_duration=0.1,
    )
    with EmulatorServer(config) as srv:
        base = srv.service_url("inference_sh")
        body = requests.post(
            base + "/run", json={"app": "acme/echo@v1", "input": {"text": "x"}}, headers=AUTH, timeout=5
        ).json()
        assert body["success"] is True and body["status"] == 200
        time.sleep(0.3)
        status = requests.get(base + f"/tasks/{body['data']['id']}/status", headers=AUTH, timeout=5).json()
        assert status["data"]["status"] == 9  # completed, legacy
        err = requests.get(base + "/tasks/nope", headers=AUTH, timeout=5).json()
        assert err == {
            "success": False,
            "status": 404,
            "error": {"code": "not_found", "message": "task not found"},
        }


def test_openapi_catalog_needs_no_auth(api):
    paths = requests.get(api.server.service_url("inference_sh") + "/openapi.json", timeout=5).json()["paths"]
    assert "/run" in paths and "/tasks/{task_id}/status" in paths


def test_default_scenarios_apply_to_the_next_tasks(api):
    api.server.control.set_scenario({"outcome": "failed", "duration": 0.05}, app="acme/echo", count=1)
    first, second = create(api, {"text": "a"}), create(api, {"text": "b"})
    assert wait_done(api, first["id"])["status"] == 11
    assert wait_done(api, second["id"])["status"] == 10
