"""The Inferable and Edges emulators speak their specs: real HTTP with requests."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_runs.testing.emulator import EmulatorConfig
from airflow_provider_runs.testing.emulator.inferable_api import DEFAULT_CLUSTER

INF_KEY = "sk_inf_emulator_test_key_000000000000000"
EDGES_KEY = "edges_emulator_test_key"
CALLBACK = {"url": "https://hooks.example.com/edges", "on": "final"}
PEOPLE = [{"linkedin_profile_url": "https://www.linkedin.com/in/x"}]


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(
        inferable_clusters={DEFAULT_CLUSTER: [INF_KEY]},
        inferable_step_seconds=0.05,
        edges_api_keys=[EDGES_KEY],
        edges_input_seconds=0.001,
    )


@pytest.fixture
def inf(server):
    server.control.reset()
    return server.client("inferable", INF_KEY, prefix=f"/clusters/{DEFAULT_CLUSTER}")


@pytest.fixture
def edges(server):
    server.control.reset()
    return server.client("edges", EDGES_KEY, timeout=30)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "No authorization token found"),
        ({"Authorization": "Basic abc"}, "Invalid authorization scheme"),
        ({"Authorization": "Bearer sk_unknown"}, "Auth not extracted from request"),
    ],
)
def test_inferable_auth_messages(inf, headers, message):
    resp = requests.get(
        inf.server.service_url("inferable") + f"/clusters/{DEFAULT_CLUSTER}/runs", headers=headers, timeout=5
    )
    assert resp.status_code == 401 and resp.json() == {"error": {"message": message}}


def test_inferable_bare_token_and_other_cluster(inf, server):
    url = server.service_url("inferable")
    assert requests.get(f"{url}/clusters/{DEFAULT_CLUSTER}/runs", headers={"Authorization": INF_KEY}).ok
    other = requests.get(f"{url}/clusters/OTHER/runs", headers={"Authorization": INF_KEY})
    assert other.status_code == 401 and "does not have access" in other.json()["error"]["message"]


def test_inferable_idempotent_id_and_404(inf):
    body = {"id": "my-run-0001", "initialPrompt": "hi"}
    first = inf("POST", "/runs", json=body)
    second = inf("POST", "/runs", json={**body, "initialPrompt": "changed"})
    assert first.status_code == second.status_code == 201 and second.json()["id"] == "my-run-0001"
    assert inf.server.control.counters()["inferable"]["runs_created"] == 1
    missing = inf("GET", "/runs/nope")
    assert missing.status_code == 404 and missing.content == b""


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ({"initialPrompt": "x", "id": "a b"}, lambda b: b["bodyErrors"]["issues"][0]["path"] == ["id"]),
        ({"initialPrompt": "x", "tools": []}, lambda b: b == {"message": "tools cannot be an empty array"}),
        ({"initialPrompt": "x", "resultSchema": {"type": "array"}}, lambda b: "errors" in b),
        (
            {"initialPrompt": "x", "resultSchema": "no"},
            lambda b: b == {"message": "resultSchema must be an object"},
        ),
    ],
)
def test_inferable_validation_shapes(inf, body, check):
    resp = inf("POST", "/runs", json=body)
    assert resp.status_code == 400 and check(resp.json()), resp.json()


def test_inferable_list_limit_bounds(inf):
    resp = inf("GET", "/runs", params={"limit": 5})
    assert resp.status_code == 400 and resp.json()["queryParameterErrors"]["issues"]


def test_inferable_list_type_filter(inf):
    run = inf("POST", "/runs", json={"initialPrompt": "x"}).json()
    ids = {
        kind: [r["id"] for r in inf("GET", "/runs", params={"type": kind}).json()]
        for kind in ("all", "conversation", "workflow")
    }
    assert run["id"] in ids["all"] and run["id"] in ids["conversation"] and ids["workflow"] == []
    resp = inf("GET", "/runs", params={"type": "batch"})
    assert resp.status_code == 400 and resp.json()["queryParameterErrors"]["issues"][0]["path"] == ["type"]


def test_inferable_no_prompt_stays_pending(inf):
    run = inf("POST", "/runs", json={"name": "no prompt"}).json()
    time.sleep(0.3)
    assert inf("GET", f"/runs/{run['id']}").json()["status"] == "pending"


def test_inferable_approval_flow_and_webhook(inf, server):
    sink = server.url + "/_emulator/webhooks/sink"
    body = {
        "initialPrompt": "send it",
        "tools": ["send_email"],
        "onStatusChange": {"type": "webhook", "webhook": sink, "statuses": ["done", "paused"]},
        "context": {
            "_emulator": {"approval": {"tool": "send_email", "input": {"to": "a@b.c"}}, "tool_calls": 0}
        },
    }
    run = inf("POST", "/runs", json=body).json()
    deadline = time.time() + 5
    while time.time() < deadline and not inf("GET", "/events", params={"runId": run["id"]}).json():
        time.sleep(0.05)
    event = inf("GET", "/events", params={"runId": run["id"], "type": "approvalRequested"}).json()[0]
    job = inf("GET", f"/jobs/{event['jobId']}").json()
    assert job["approvalRequested"] is True and job["approved"] is None and job["status"] == "interrupted"
    assert inf("GET", f"/runs/{run['id']}").json()["status"] == "paused"
    assert inf("POST", f"/jobs/{job['id']}/approval", json={"approved": True}).status_code == 204
    assert inf("POST", f"/jobs/{job['id']}/approval", json={"approved": False}).status_code == 204  # no-op
    while time.time() < deadline and inf("GET", f"/runs/{run['id']}").json()["status"] != "done":
        time.sleep(0.05)
    assert inf("GET", f"/runs/{run['id']}").json()["status"] == "done"
    assert inf("GET", f"/jobs/{job['id']}").json()["approved"] is True
    # deliveries are asynchronous (and retried with backoff): wait for both, do not sleep a guess
    statuses: set[str] = set()
    deadline = time.time() + 15
    while time.time() < deadline and statuses != {"paused", "done"}:
        statuses = {r["body"]["status"] for r in server.control.webhooks()["received"]}
        time.sleep(0.1)
    assert statuses == {"paused", "done"}, server.control.webhooks()


def test_inferable_interactive_reopen_and_non_interactive(inf):
    run = inf("POST", "/runs", json={"initialPrompt": "hi", "interactive": True}).json()
    time.sleep(0.3)
    assert inf("POST", f"/runs/{run['id']}/messages", json={"message": "more"}).status_code == 201
    assert inf("GET", f"/runs/{run['id']}").json()["status"] == "running"
    closed = inf("POST", "/runs", json={"initialPrompt": "hi", "interactive": False}).json()
    resp = inf("POST", f"/runs/{closed['id']}/messages", json={"message": "more"})
    assert resp.status_code == 400 and "not interactive" in resp.json()["error"]["message"]


def test_edges_auth_and_error_body(edges):
    resp = edges("GET", "/runs", key="wrong")
    assert resp.status_code == 401 and set(resp.json()) >= {"error_label", "message", "status_code"}


def test_edges_mode_rules(edges):
    live = edges("POST", "/actions/linkedin-extract-people/run/live", json={"inputs": [{}]})
    assert live.status_code == 400 and "additional properties (inputs)" in live.json()["message"]
    too_many = edges("POST", "/actions/linkedin-extract-people/run/async", json={"inputs": [{}] * 100_001})
    assert too_many.status_code == 400 and "100000" in too_many.json()["message"]
    unknown = edges("POST", "/actions/nope/run/async", json={"inputs": [{}]})
    assert unknown.status_code == 404 and unknown.json()["error_label"] == "NOT_FOUND"


def test_edges_outputs_follow_absolute_next_links(edges):
    inputs = [{"linkedin_profile_url": f"https://www.linkedin.com/in/u{i}"} for i in range(250)]
    body = {"inputs": inputs, "callback": CALLBACK}
    handle = edges("POST", "/actions/linkedin-extract-people/run/async", json=body).json()
    assert handle["status"] == "pending" and handle["run_uid"]
    deadline = time.time() + 10
    while (
        time.time() < deadline
        and edges("GET", f"/runs/{handle['run_uid']}/status").json()["status"] != "SUCCEEDED"
    ):
        time.sleep(0.05)
    url, rows = f"{edges.server.service_url('edges')}/runs/{handle['run_uid']}/outputs?limit=100", []
    while url:
        resp = requests.get(url, headers={"X-API-Key": EDGES_KEY}, timeout=10)
        rows += resp.json()
        url = resp.headers.get("X-Pagination-Next")
        assert url is None or url.startswith("http://127.0.0.1")
    assert len(rows) == 250 and edges("GET", f"/runs/{handle['run_uid']}").json()["output_count"] == 250


def test_edges_one_shot_schedule_completes(edges):
    body = {
        "inputs": [{"linkedin_profile_url": "https://www.linkedin.com/in/x"}],
        "schedule_at": "2020-01-01T00:00:00Z",
        "callback": CALLBACK,
    }
    schedule = edges("POST", "/actions/linkedin-extract-people/run/schedule", json=body).json()
    assert edges("GET", f"/schedules/{schedule['uid']}").json()["status"] == "COMPLETED"
    runs = [
        r
        for r in edges("GET", "/runs", params={"limit": 100}).json()
        if r["scheduled_run_uid"] == schedule["uid"]
    ]
    assert len(runs) == 1 and runs[0]["execution_mode"] == "ASYNC"


@pytest.mark.parametrize("mode", ["async", "schedule"])
def test_edges_callback_required_by_default(edges, mode):
    """Spec §2.2 / §8 #2: the docs mark ``callback`` required; the default emulator enforces it."""
    assert EmulatorConfig().edges_strict_callback is True
    resp = edges("POST", f"/actions/linkedin-extract-people/run/{mode}", json={"inputs": PEOPLE})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_label"] == "BAD_PARAMETERS" and "callback" in resp.json()["message"]
    ok = edges(
        "POST", f"/actions/linkedin-extract-people/run/{mode}", json={"inputs": PEOPLE, "callback": CALLBACK}
    )
    assert ok.status_code == 200, ok.text
    counts = edges.server.control.counters()["edges"]
    assert (counts["runs_created"], counts.get("schedules_created", 0)) == (
        (1, 0) if mode == "async" else (0, 1)
    )


@pytest.mark.parametrize("mode", ["async", "schedule"])
def test_edges_callback_optional_when_not_strict(edges, server, monkeypatch, mode):
    """``edges_strict_callback=False``: a launch without a callback is accepted (vendor SDK examples)."""
    monkeypatch.setattr(server.config, "edges_strict_callback", False)
    resp = edges("POST", f"/actions/linkedin-extract-people/run/{mode}", json={"inputs": PEOPLE})
    assert resp.status_code == 200, resp.text
    uid = resp.json()["run_uid"] if mode == "async" else None
    if uid:
        assert edges("GET", f"/runs/{uid}").json()["callback"] is None


@pytest.mark.parametrize(("enforce", "status"), [(False, 201), (True, 401)])
def test_inferable_machine_key_creates_unless_key_kinds_enforced(inf, server, monkeypatch, enforce, status):
    """Spec §1.1: the current server has no key-type distinction (default); the old hosted
    behaviour (machine keys refused at create) stays behind ``inferable_enforce_key_kinds``."""
    assert EmulatorConfig().inferable_enforce_key_kinds is False
    monkeypatch.setattr(server.config, "inferable_enforce_key_kinds", enforce)
    machine = server.config.inferable_machine_keys[0]
    resp = inf("POST", "/runs", key=machine, json={"initialPrompt": "hi"})
    assert resp.status_code == status, resp.text
    if enforce:
        assert "Machine API keys cannot create runs" in resp.json()["error"]["message"]
    else:
        assert inf("GET", f"/runs/{resp.json()['id']}", key=machine).status_code == 200
