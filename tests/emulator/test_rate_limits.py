"""The emulator meters like the services (issue 12): Edges plan budgets, inference.sh limits.

Real HTTP with requests; minutes pass through ``POST /_emulator/clock/advance``, never a sleep.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from airflow_provider_runs.testing.emulator import EmulatorConfig, EmulatorServer

EDGES_KEY = "edges_rate_limit_key_a"
EDGES_KEY_B = "edges_rate_limit_key_b"
INF_KEY = "inf_rate_limit_key_a"
INF_KEY_B = "inf_rate_limit_key_b"
CALLBACK = {"url": "https://hooks.example.com/edges", "on": "final"}
PEOPLE = [{"linkedin_profile_url": "https://www.linkedin.com/in/x"}]
SLUG = "linkedin-extract-people"


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(
        edges_api_keys=[EDGES_KEY, EDGES_KEY_B],
        edges_input_seconds=0.001,
        inference_sh_api_keys=[INF_KEY, INF_KEY_B],
        default_task_duration=0.1,
    )


@pytest.fixture
def edges(server):
    server.control.reset()
    return server.client("edges", EDGES_KEY)


@pytest.fixture
def inf(server):
    server.control.reset()
    return server.client("inference_sh", INF_KEY)


def launch(edges, key=EDGES_KEY):
    resp = edges("POST", f"/actions/{SLUG}/run/async", key=key, json={"inputs": PEOPLE, "callback": CALLBACK})
    assert resp.status_code == 200, resp.text
    return resp.json()["run_uid"]


def live(edges, key=EDGES_KEY):
    return edges("POST", f"/actions/{SLUG}/run/live", key=key, json={"input": PEOPLE[0]})


def assert_edges_429(resp, kind="runs"):
    assert resp.status_code == 429, resp.text
    body = resp.json()
    assert body["error_label"] == "STATUS_429" and body["status_code"] == 429
    assert {"error_scope", "error_ref", "message", "params"} <= set(body)
    assert resp.headers["X-RateLimit-Type"] == kind
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in resp.headers


# -- Edges ----------------------------------------------------------------------------------
def test_default_is_titanium_metered_and_headers_on_success(edges):
    assert EmulatorConfig().edges_rate_limit_tier == "titanium"
    limits = requests.get(f"{edges.server.url}/_emulator/limits", timeout=5).json()
    assert limits["edges"] == {"tier": "titanium", "per_minute": {"runs": 600, "live": 1200}}
    assert limits["inference_sh"]["per_minute"] == {"run": 100, "get": 1000, "upload": 50}
    resp = edges("GET", "/runs")
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Remaining"] == "599"


def test_trial_all_runs_routes_share_30_a_minute(edges):
    uid = launch(edges)  # a launch is not a /runs route: not counted
    edges.server.control.set_limits({"edges": {"tier": "trial"}})
    paths = [
        "/runs",
        f"/runs?uid={uid}",
        f"/runs/{uid}",
        f"/runs/{uid}/status",
        f"/runs/{uid}/inputs",
        "/runs/callbacks",
    ]
    remaining = []
    for i in range(30):
        resp = edges("GET", paths[i % len(paths)])
        assert resp.status_code == 200, (i, resp.text)
        remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(29, -1, -1))
    assert_edges_429(edges("GET", f"/runs/{uid}/status"))
    assert_edges_429(edges("GET", f"/runs/{uid}/outputs"))
    counters = edges.server.control.counters()["edges"]
    assert (counters["metered"], counters["rate_limited"]) == (32, 2)
    assert counters["requests"]["GET /v1/runs/{uid}/status"] == 6  # refused requests are counted too
    edges.server.control.advance(60)
    resp = edges("GET", "/runs")
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Remaining"] == "29"


def test_launches_schedules_and_live_do_not_use_the_runs_budget(edges):
    edges.server.control.set_limits({"edges": {"tier": "trial"}})
    for _ in range(30):
        assert edges("GET", "/runs").status_code == 200
    assert_edges_429(edges("GET", "/runs"))
    launch(edges)
    assert edges("GET", "/schedules").status_code == 200
    assert edges("GET", "/workspaces").status_code == 200
    resp = live(edges)
    assert resp.status_code == 200, resp.text
    assert resp.headers["X-RateLimit-Remaining"] == "59"  # trial: 60 live actions a minute, apart


def test_live_actions_have_their_own_budget(edges):
    edges.server.control.set_limits({"edges": {"live_requests_per_minute": 3}})
    for _ in range(3):
        assert live(edges).status_code == 200
    assert_edges_429(live(edges), kind="live")
    assert edges("GET", "/runs").headers["X-RateLimit-Remaining"] == "599"
    assert edges.server.control.counters()["edges"]["rate_limited_live"] == 1


def test_budget_is_per_key(edges):
    edges.server.control.set_limits({"edges": {"requests_per_minute": 2}})
    assert [edges("GET", "/runs").status_code for _ in range(3)] == [200, 200, 429]
    resp = edges("GET", "/runs", key=EDGES_KEY_B)
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Remaining"] == "1"


def test_window_slides(edges):
    edges.server.control.set_limits({"edges": {"requests_per_minute": 2}})
    assert edges("GET", "/runs").status_code == 200
    edges.server.control.advance(30)
    assert edges("GET", "/runs").status_code == 200
    assert edges("GET", "/runs").status_code == 429
    edges.server.control.advance(30.5)  # the first request left the window, the second did not
    assert edges("GET", "/runs").headers["X-RateLimit-Remaining"] == "0"
    assert edges("GET", "/runs").status_code == 429


def test_unlimited_and_reset(edges):
    edges.server.control.set_limits({"edges": {"tier": "unlimited"}})
    for _ in range(40):
        resp = edges("GET", "/runs")
        assert resp.status_code == 200 and "X-RateLimit-Remaining" not in resp.headers
    edges.server.control.set_limits({"edges": {"tier": "trial"}})
    for _ in range(30):
        edges("GET", "/runs")
    assert edges("GET", "/runs").status_code == 429
    edges.server.control.reset()  # back to the configured tier, windows empty
    resp = edges("GET", "/runs")
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Remaining"] == "599"


def test_config_and_cli_tiers():
    config = EmulatorConfig(edges_rate_limit_tier="silver", inference_sh_rate_limits={"run": 7})
    with EmulatorServer(config) as srv:
        limits = requests.get(f"{srv.url}/_emulator/limits", timeout=5).json()
    assert limits["edges"]["per_minute"] == {"runs": 150, "live": 600}
    assert limits["inference_sh"]["per_minute"] == {"run": 7, "get": 1000, "upload": 50}
    from airflow_provider_runs.testing.emulator.__main__ import parse

    assert parse([])[1].edges_rate_limit_tier == "titanium"
    _, cli = parse(
        ["--edges-tier", "trial", "--edges-runs-per-minute", "12", "--inference-sh-limits", "unlimited"]
    )
    assert (cli.edges_rate_limit_tier, cli.edges_rate_limit_per_minute) == ("trial", 12)
    assert cli.inference_sh_rate_limit_tier == "unlimited"


@pytest.mark.parametrize(
    "body",
    [
        {"edges": {"tier": "copper"}},
        {"edges": {"requests_per_minute": 0}},
        {"edges": {"bogus": 1}},
        {"inference_sh": {"run": "many"}},
        {"inferable": {"tier": "trial"}},
        [],
    ],
)
def test_limits_control_rejects_bad_settings(edges, body):
    before = requests.get(f"{edges.server.url}/_emulator/limits", timeout=5).json()
    resp = requests.post(f"{edges.server.url}/_emulator/limits", json=body, timeout=5)
    assert resp.status_code == 400
    assert requests.get(f"{edges.server.url}/_emulator/limits", timeout=5).json() == before


# -- inference.sh ---------------------------------------------------------------------------
def run_task(inf, key=INF_KEY):
    return inf("POST", "/run?wait=false", key=key, json={"app": "acme/echo@v1", "input": {"text": "hi"}})


def test_inference_sh_headers_per_bucket(inf):
    start = time.time()
    created = run_task(inf)
    assert created.status_code == 200
    assert created.headers["X-RateLimit-Remaining"] == "99"
    assert start + 55 <= int(created.headers["X-RateLimit-Reset"]) <= time.time() + 62
    assert "Retry-After" not in created.headers
    task_id = created.json()["data"]["id"]
    assert inf("GET", f"/tasks/{task_id}").headers["X-RateLimit-Remaining"] == "999"
    assert inf("GET", f"/tasks/{task_id}/status").headers["X-RateLimit-Remaining"] == "998"
    assert run_task(inf).headers["X-RateLimit-Remaining"] == "98"
    assert inf("GET", "/tasks/nope").headers["X-RateLimit-Remaining"] == "997"  # 404s count too
    assert "X-RateLimit-Remaining" not in inf("POST", "/tasks/list", json={}).headers


def test_inference_sh_429_with_retry_after(inf):
    inf.server.control.set_limits({"inference_sh": {"run": 2}})
    assert [run_task(inf).status_code for _ in range(2)] == [200, 200]
    inf.server.control.advance(20)
    refused = run_task(inf)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["type"].endswith("/rate_limited") and body["status"] == 429
    assert 39 <= int(refused.headers["Retry-After"]) <= 41
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) <= time.time() + 42
    assert run_task(inf, key=INF_KEY_B).status_code == 200  # per key
    counters = inf.server.control.counters()["inference_sh"]
    assert counters["rate_limited"] == 1 and counters["tasks_created"] == 3
    inf.server.control.advance(41)
    assert run_task(inf).status_code == 200


def test_inference_sh_unlimited(inf):
    inf.server.control.set_limits({"inference_sh": {"tier": "unlimited"}})
    resp = run_task(inf)
    assert resp.status_code == 200 and "X-RateLimit-Remaining" not in resp.headers


def test_inference_sh_fault_429_still_injected(inf):
    inf.server.control.add_faults(
        [{"kind": "status", "status": 429, "retry_after": 3, "service": "inference_sh", "count": 1}]
    )
    resp = run_task(inf)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "3"
    assert inf.server.control.counters()["faults_injected"]["429"] == 1
    assert run_task(inf).status_code == 200


# -- list filters ---------------------------------------------------------------------------
def test_edges_list_runs_uid_filters(edges):
    uids = [launch(edges) for _ in range(4)]
    one = edges("GET", "/runs", params={"uid": uids[1]}).json()
    assert [r["uid"] for r in one] == [uids[1]]
    two = edges("GET", "/runs", params=[("uid[]", uids[0]), ("uid[]", uids[3])]).json()
    assert sorted(r["uid"] for r in two) == sorted([uids[0], uids[3]])
    mixed = edges("GET", "/runs", params=[("uid", uids[2]), ("uid[]", uids[3])]).json()
    assert sorted(r["uid"] for r in mixed) == sorted(uids[2:])
    page = edges("GET", "/runs", params=[("uid[]", u) for u in uids] + [("limit", 2), ("offset", 1)])
    assert [r["uid"] for r in page.json()] == uids[1:3]
    assert edges("GET", "/runs", params={"uid": "nope"}).json() == []
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}):
        resp = edges("GET", "/runs", params=bad)
        assert resp.status_code == 400 and resp.json()["error_label"] == "BAD_PARAMETERS"
    assert edges("GET", "/runs", params={"limit": 100}).status_code == 200


def test_inference_sh_list_id_filters(inf):
    ids = [run_task(inf).json()["data"]["id"] for _ in range(3)]

    def listed(body):
        resp = inf("POST", "/tasks/list", json=body)
        assert resp.status_code == 200, resp.text
        return sorted(t["id"] for t in resp.json()["data"]["items"])

    assert listed({"filters": [{"field": "id", "operator": "in", "value": ids[:2]}]}) == sorted(ids[:2])
    assert listed({"filters": [{"field": "id", "operator": "eq", "value": ids[2]}]}) == [ids[2]]
    assert listed({"filters": [{"field": "id", "operator": "not_in", "value": ids[:2]}]}) == [ids[2]]
    assert listed({"filters": [{"field": "id", "operator": "in", "value": []}]}) == []
    assert listed({"limit": -1, "filters": [{"field": "id", "operator": "in", "value": ids}]}) == sorted(ids)
    query = json.dumps([{"field": "id", "operator": "in", "value": ids[1:]}])
    got = inf("GET", "/tasks", params={"filters": query, "limit": 10}).json()["data"]["items"]
    assert sorted(t["id"] for t in got) == sorted(ids[1:])
    for bad in (
        {"filters": [{"field": "id", "operator": "in", "value": ids[0]}]},  # not an array
        {"filters": [{"field": "nope", "operator": "eq", "value": 1}]},
        {"filters": [{"field": ["id"], "operator": "eq", "value": 1}]},
        {"filters": {"field": "id"}},
        {"limit": 10_001},
        {"sort": 5},
    ):
        resp = inf("POST", "/tasks/list", json=bad)
        assert resp.status_code == 400, (bad, resp.text)
    assert inf("POST", "/tasks/list", json={"limit": 10_000}).status_code == 200
