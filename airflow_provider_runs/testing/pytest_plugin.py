"""pytest fixtures for DAG and provider tests against the emulator (registered via ``pytest11``).

- ``runs_emulator_server`` (session): one emulator for the test session.
- ``runs_emulator``: that emulator, reset before the test.
- ``runs_emulator_env``: as ``runs_emulator``, with ``AIRFLOW_CONN_*_DEFAULT`` set for the test.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def runs_emulator_server():
    """A session-wide emulator on a free loopback port."""
    from airflow_provider_runs.testing.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(default_task_duration=0.5)) as server:
        yield server


@pytest.fixture
def runs_emulator(runs_emulator_server):
    """The emulator, reset (no tasks, faults or counters) for this test."""
    runs_emulator_server.control.reset()
    yield runs_emulator_server
    runs_emulator_server.control.clear_faults()


@pytest.fixture
def runs_emulator_env(runs_emulator, monkeypatch):
    """The emulator with the provider's default connections pointing at it."""
    for key, value in runs_emulator.connection_env().items():
        monkeypatch.setenv(key, value)
    return runs_emulator
