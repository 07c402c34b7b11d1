"""Integration fixtures: real HTTP to the emulator, connections through env vars."""

from __future__ import annotations

import json

import pytest

from airflow_provider_runs.testing.emulator import EmulatorConfig, EmulatorServer

from support import TEST_KEY


def inference_sh_conn(url: str, key: str = TEST_KEY, **extra) -> str:
    """The JSON form of an ``inference_sh`` connection."""
    return json.dumps({"conn_type": "inference_sh", "host": url, "password": key, "extra": extra})


@pytest.fixture(scope="session")
def inference_sh_server():
    """One emulator for the session, current envelope and numbering, accepting ``TEST_KEY``."""
    with EmulatorServer(
        EmulatorConfig(inference_sh_api_keys=[TEST_KEY], default_task_duration=0.3)
    ) as server:
        yield server


@pytest.fixture
def emulator(inference_sh_server, monkeypatch):
    """The session emulator, reset, with ``inference_sh_default`` pointing at it."""
    inference_sh_server.control.reset()
    url = inference_sh_server.service_url("inference_sh")
    monkeypatch.setenv("AIRFLOW_CONN_INFERENCE_SH_DEFAULT", inference_sh_conn(url))
    monkeypatch.setenv(
        "AIRFLOW_CONN_INFERENCE_SH_WRONG_KEY", inference_sh_conn(url, key="inf_wrong_key_0000")
    )
    monkeypatch.setenv("AIRFLOW_CONN_INFERENCE_SH_LEGACY", inference_sh_conn(url, status_numbering="legacy"))
    yield inference_sh_server
    inference_sh_server.control.clear_faults()
