"""Shared test setup: an isolated AIRFLOW_HOME with no examples and no DB requirement; unmetered
request budgets unless a test asks for them; emulators started by one factory; the end-to-end
suite (``tests/e2e``) skipped unless asked for (``--e2e`` or ``RUNS_E2E=1``: ``make e2e``)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

_home = tempfile.mkdtemp(prefix="runs-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")


import pytest  # noqa: E402

if TYPE_CHECKING:
    from emulation import RunningEmulator

E2E_DIR = Path(__file__).resolve().parent / "e2e"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--e2e``: run the end-to-end suite (real Airflow processes, minutes)."""
    parser.addoption(
        "--e2e", action="store_true", default=False, help="run the end-to-end suite (tests/e2e; make e2e)"
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register this suite's markers (the ones not declared in pyproject.toml)."""
    config.addinivalue_line(
        "markers", "service_budgets: keep the services' default requests_per_minute (tests of the budget)"
    )


def e2e_requested(config: pytest.Config) -> bool:
    """Whether this session runs the end-to-end suite: ``--e2e`` or ``RUNS_E2E=1``."""
    return bool(config.getoption("--e2e")) or os.environ.get("RUNS_E2E", "") not in ("", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests under ``tests/e2e`` ``e2e``; skip them unless the session asked for them."""
    skip = pytest.mark.skip(reason="end-to-end suite: run with --e2e or RUNS_E2E=1 (make e2e)")
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            if not e2e_requested(config):
                item.add_marker(skip)


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


@pytest.fixture(scope="module")
def emulator_factory() -> Iterator[Callable[..., RunningEmulator]]:
    """Start emulators for this module's tests, stopped when they are done.

    ``emulator_factory(config=None, **fields)`` returns a started :class:`emulation.RunningEmulator`
    of ``config`` (default ``EmulatorConfig()``) with ``fields`` (``EmulatorConfig`` fields: keys,
    durations, time scale, rate-limit tiers...) replaced. Module fixtures build theirs with it;
    a per-test fixture resets one with ``yield from server.fresh(monkeypatch, **connections)``.
    """
    from emulation import started_emulator

    with contextlib.ExitStack() as stack:

        def start(config: Any = None, **fields: Any) -> RunningEmulator:
            return stack.enter_context(started_emulator(config, **fields))

        yield start
