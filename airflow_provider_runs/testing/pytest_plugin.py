"""pytest fixtures for DAG and provider tests against the emulator (registered via ``pytest11``).

- ``runs_dag_test``: runs a DAG (object or file) with ``dag.test()`` against the emulator and
  returns a :class:`~airflow_provider_runs.testing.dag_test.DagTestResult`.
- ``runs_airflow_db`` (session): the metadata database of the session's ``AIRFLOW_HOME``, created
  once.
- ``runs_emulator_server`` (session): one emulator for the test session.
- ``runs_emulator``: that emulator, reset before the test.
- ``runs_emulator_env``: as ``runs_emulator``, with ``AIRFLOW_CONN_*_DEFAULT`` set for the test.

Airflow reads ``AIRFLOW_HOME`` when it is first imported, so the plugin sets it before any
``conftest.py`` or test module is imported: to a throw-away directory unless ``AIRFLOW_HOME`` is
already set (ini option ``runs_airflow_home``: ``auto``, ``isolated`` or ``keep``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_runs.testing.airflow_home import AirflowHome, migrate_db, prepare_airflow_home
from airflow_provider_runs.testing.dag_test import DagTester

_HOME = pytest.StashKey[AirflowHome]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``runs_airflow_home`` ini option.

    :param parser: pytest's option parser.
    """
    parser.addini(
        "runs_airflow_home",
        default="auto",
        help=(
            "AIRFLOW_HOME for the session: auto (a throw-away one unless AIRFLOW_HOME is set), "
            "isolated (always a throw-away one) or keep (never change it)"
        ),
    )


def _prepare(config: pytest.Config) -> None:
    """Set up the session's ``AIRFLOW_HOME`` once, as early as the plugin gets the chance."""
    if _HOME in config.stash:
        return
    home = prepare_airflow_home(str(config.getini("runs_airflow_home")).strip() or "auto")
    config.stash[_HOME] = home
    if home.problem:
        config.issue_config_time_warning(pytest.PytestConfigWarning(home.problem), stacklevel=2)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before any ``conftest.py`` (and so before any test module) is imported.

    :param early_config: the session's configuration.
    """
    _prepare(early_config)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """The same, when the plugin is registered too late for the hook above.

    :param config: the session's configuration.
    """
    _prepare(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say which throw-away ``AIRFLOW_HOME`` this session uses.

    :param config: the session's configuration.
    """
    home = config.stash.get(_HOME, None)
    if home is None or not home.throwaway:
        return None
    return f"airflow-provider-runs: throw-away AIRFLOW_HOME {home.path}"


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore the environment and remove the throw-away home.

    :param config: the session's configuration.
    """
    home = config.stash.get(_HOME, None)
    if home is not None:
        home.restore()


@pytest.fixture(scope="session")
def runs_airflow_db(pytestconfig: pytest.Config) -> Path:
    """The session's ``AIRFLOW_HOME`` (a throw-away one by default), its database created once."""
    home = pytestconfig.stash.get(_HOME, None)
    if home is not None and home.problem:
        pytest.fail(home.problem, pytrace=False)
    migrate_db()
    from airflow.configuration import AIRFLOW_HOME

    return Path(AIRFLOW_HOME)


@pytest.fixture(scope="session")
def runs_dag_tester(runs_airflow_db: Path) -> DagTester:
    """The session's DAG runner (each DAG file parsed once); tests use ``runs_dag_test``."""
    return DagTester()


@pytest.fixture
def runs_dag_test(runs_dag_tester: DagTester, runs_emulator_env: Any) -> DagTester:
    """Run a DAG with ``dag.test()``, the provider's default connections on a reset emulator.

    ``runs_dag_test(dag_or_path, dag_id=None, **dag_test_kwargs)`` returns a
    :class:`~airflow_provider_runs.testing.dag_test.DagTestResult` (``state``, ``task_states``,
    ``return_values``, ``xcom(task_id, key=...)``, ``dag_run``).
    """
    return runs_dag_tester


@pytest.fixture(scope="session")
def runs_emulator_server() -> Iterator[Any]:
    """A session-wide emulator on a free loopback port."""
    from airflow_provider_runs.testing.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(default_task_duration=0.5)) as server:
        yield server


@pytest.fixture
def runs_emulator(runs_emulator_server: Any) -> Iterator[Any]:
    """The emulator, reset (no tasks, faults or counters) for this test."""
    runs_emulator_server.control.reset()
    yield runs_emulator_server
    runs_emulator_server.control.clear_faults()


@pytest.fixture
def runs_emulator_env(runs_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator with the provider's default connections pointing at it."""
    for key, value in runs_emulator.connection_env().items():
        monkeypatch.setenv(key, value)
    return runs_emulator
