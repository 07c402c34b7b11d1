"""Shared test setup: an isolated AIRFLOW_HOME with no examples and no DB requirement."""

from __future__ import annotations

import os
import tempfile

_home = tempfile.mkdtemp(prefix="runs-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")


import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "service_budgets: keep the services' default requests_per_minute (tests of the budget)"
    )


def _hooks():
    from airflow_provider_runs.services import BUILT_IN

    return [service.load_hook() for service in BUILT_IN]


def _with_budget(hook_class, rpm):
    import dataclasses

    return dataclasses.replace(hook_class.descriptor, requests_per_minute=rpm)


@pytest.fixture(scope="session", autouse=True)
def unmetered_by_default():
    """Connections without ``requests_per_minute`` are unmetered in tests, from the first fixture
    on (module fixtures build hooks too): the suites written before the request budget keep their
    timing. Tests of the budget set ``requests_per_minute`` or use the ``service_budgets`` marker."""
    mp = pytest.MonkeyPatch()
    for hook_class in _hooks():
        mp.setattr(hook_class, "descriptor", _with_budget(hook_class, 0.0))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def fresh_request_budgets(request, monkeypatch):
    """Every test starts with fresh per-connection request budgets (a 429's pause or a halved rate
    must not leak into the next test); ``service_budgets`` tests get the services' real defaults."""
    from airflow_provider_runs.core.limiter import reset_limiters
    from airflow_provider_runs.services import service_named

    reset_limiters()
    if request.node.get_closest_marker("service_budgets") is not None:
        for hook_class in _hooks():
            monkeypatch.setattr(hook_class, "descriptor", service_named(hook_class.service))
    yield
    reset_limiters()
