"""A service registered at run time is emulated like the built-in ones, by the generic modules
alone: routes, settings, faults, counters, limits, scenarios, webhooks, connections, OpenAPI."""

from __future__ import annotations

import json
import time

import pytest
import requests
from emulator.notes_service import NOTES, NotesSettings

from airflow_provider_runs.services import register, unregister
from airflow_provider_runs.testing.emulator import connection_env_for
from airflow_provider_runs.testing.emulator.service import emulated_services

from emulation import emulating

TOKEN = "notes-test-token"


@pytest.fixture(scope="module")
def server():
    with emulating(NOTES, NotesSettings(notes_tokens=[TOKEN])) as srv:
        yield srv


@pytest.fixture
def notes(server):
    server.control.reset()
    base = server.service_url("notes")

    def call(method, path, token=TOKEN, **kwargs):
        return requests.request(
            method, base + path, headers={"Authorization": f"Token {token}"}, timeout=10, **kwargs
        )

    call.server = server
    return call


def test_served_below_its_api_root(notes):
    assert notes.server.service_url("notes").endswith("/notes-api/v2")
    created = notes("POST", "/notes", json={"text": "hello"})
    assert created.status_code == 201, created.text
    assert notes("GET", f"/notes/{created.json()['id']}").json()["text"] == "hello"
    assert notes("GET", "/notes/n1", token="wrong").status_code == 401
    counters = notes.server.control.counters()["notes"]
    assert counters["runs_created"] == 1
    assert counters["requests"] == {"POST /v2/notes": 1, "GET /v2/notes/{note_id}": 2}  # below the prefix
    assert requests.get(f"{notes.server.url}/_emulator/created", timeout=5).json()["notes"] == ["hello"]


def test_faults_answer_in_its_shape(notes):
    notes.server.control.add_faults([{"kind": "status", "status": 503, "service": "notes", "count": 1}])
    resp = notes("POST", "/notes", json={"text": "x"})
    assert resp.status_code == 503 and resp.headers["content-type"] == "application/vnd.notes+json"
    assert resp.json() == {"oops": "injected fault: HTTP 503"}
    assert notes("POST", "/notes", json={"text": "x"}).status_code == 201


def test_rate_limits_and_reset(notes):
    note = notes("POST", "/notes", json={"text": "x"}).json()["id"]
    assert [notes("GET", f"/notes/{note}").status_code for _ in range(3)] == [200, 200, 429]
    limits = requests.get(f"{notes.server.url}/_emulator/limits", timeout=5).json()
    assert limits["notes"] == {"tier": "standard", "per_minute": {"reads": 2}}
    notes.server.control.set_limits({"notes": {"tier": "unlimited"}})
    assert notes("GET", f"/notes/{note}").status_code == 200
    assert notes.server.control.counters()["notes"]["rate_limited"] == 1
    notes.server.control.reset()
    assert (
        requests.get(f"{notes.server.url}/_emulator/limits", timeout=5).json()["notes"]["tier"] == "standard"
    )


def test_scenarios_and_webhooks(notes):
    notes.server.control.set_scenario({"mood": "happy"}, service="notes", count=1)
    sink = notes.server.url + "/_emulator/webhooks/sink"
    note = notes("POST", "/notes", json={"text": "w", "webhook": sink}).json()
    assert note["scenario"] == {"mood": "happy"}
    assert notes("POST", "/notes", json={"text": "v"}).json()["scenario"] == {}
    deadline = time.time() + 5
    while time.time() < deadline and not notes.server.control.webhooks()["received"]:
        time.sleep(0.05)
    [received] = notes.server.control.webhooks()["received"]
    assert received["body"]["id"] == note["id"]
    assert notes.server.control.counters()["notes"]["webhooks_sent"] == 1


def test_connections_openapi_and_cli(server):
    env = json.loads(server.connection_env()["AIRFLOW_CONN_NOTES_DEFAULT"])
    assert env == {"conn_type": "notes", "host": server.url + "/notes-api/v2", "password": TOKEN,
                   "extra": {"shelf": "emulated"}}  # fmt: skip
    default = json.loads(connection_env_for("http://h")["AIRFLOW_CONN_NOTES_DEFAULT"])
    assert default["password"] == "note-token"
    paths = requests.get(f"{server.url}/_emulator/openapi.json", timeout=5).json()["paths"]
    assert "/notes-api/v2/notes/{note_id}" in paths and "/inference-sh/run" in paths
    from airflow_provider_runs.testing.emulator.__main__ import parse

    args, _ = parse(["--notes-token", "t"])
    assert args.notes_tokens == ["t"]


def test_forgotten_once_unregistered(server):
    unregister(NOTES.name)
    try:
        assert "notes" not in {service.name for service in emulated_services()}
        assert "AIRFLOW_CONN_NOTES_DEFAULT" not in connection_env_for("http://h")
    finally:
        register(NOTES)
