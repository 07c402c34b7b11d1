"""The provider's pytest plugin as a user's project meets it: a pytest session of its own outside
this repository (no conftest.py of ours), and ``runs_dag_test`` on DAG objects and files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from airflow_provider_runs.testing.dag_test import DagFileError

# A user's conftest.py that imports Airflow at once: the home must already be set by then.
PROBE_CONFTEST = """
import json, os
from airflow.configuration import AIRFLOW_HOME

def pytest_sessionfinish(session):
    seen = {"env": os.environ.get("AIRFLOW_HOME"), "airflow": AIRFLOW_HOME}
    (session.config.rootpath / "seen.json").write_text(json.dumps(seen))
"""


def run_pytest(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m pytest`` in ``project`` (its own rootdir), without this session's AIRFLOW_HOME."""
    (project / "pytest.ini").write_text("[pytest]\n")
    base = {k: v for k, v in os.environ.items() if k not in ("AIRFLOW_HOME", "PYTEST_ADDOPTS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=project,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture
def probe_project(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text(PROBE_CONFTEST)
    (project / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    return project


def seen(project: Path) -> dict:
    return json.loads((project / "seen.json").read_text())


def test_throwaway_home_before_any_conftest_and_removed_after(probe_project):
    done = run_pytest(probe_project)
    assert done.returncode == 0, done.stdout + done.stderr
    home = seen(probe_project)
    assert home["env"] == home["airflow"], home
    assert Path(home["env"]).name.startswith("runs-airflow-home-"), home
    assert f"airflow-provider-runs: throw-away AIRFLOW_HOME {home['env']}" in done.stdout
    assert not Path(home["env"]).exists()  # removed when the session ended


def test_a_home_the_user_set_is_kept_unless_isolated(probe_project, tmp_path):
    mine = tmp_path / "my-airflow-home"
    mine.mkdir()
    done = run_pytest(probe_project, env={"AIRFLOW_HOME": str(mine)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert seen(probe_project) == {"env": str(mine), "airflow": str(mine)}

    done = run_pytest(probe_project, "-o", "runs_airflow_home=isolated", env={"AIRFLOW_HOME": str(mine)})
    assert done.returncode == 0, done.stdout + done.stderr
    home = seen(probe_project)
    assert home["env"] == home["airflow"] != str(mine), home
    assert mine.exists()


def test_airflow_imported_too_early_is_a_clear_failure(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "early_airflow.py").write_text("import airflow\n")
    (project / "test_db.py").write_text("def test_db(runs_airflow_db):\n    pass\n")
    env = {"PYTHONPATH": str(project), "AIRFLOW_HOME": str(tmp_path / "home")}  # never ~/airflow
    done = run_pytest(project, "-p", "early_airflow", "-o", "runs_airflow_home=isolated", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Airflow was imported before the airflow-provider-runs pytest plugin" in done.stdout
    assert "set AIRFLOW_HOME to an empty directory yourself" in done.stdout


def test_runs_dag_test_runs_a_dag_object(runs_dag_test, runs_emulator):
    from airflow.sdk import DAG, task

    from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

    with DAG("plugin_inline", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        echoes = InferenceShTaskOperator.partial(
            task_id="echo", app="acme/echo@v1", poll_interval=0.1
        ).expand(input=[{"text": "a"}, {"text": "b"}])

        @task
        def join(runs: list) -> str:
            return "+".join(run["output"]["text"] for run in runs)

        join(echoes.output)

    result = runs_dag_test(dag)
    assert result.state == "success"
    assert result.task_states == {"echo[0]": "success", "echo[1]": "success", "join": "success"}
    assert result.return_values["join"] == "a+b"
    assert result.return_values["echo[1]"]["output"] == {"text": "b"}
    assert result.xcom("echo", key="run_id", map_index=0) == result.return_values["echo[0]"]["task_id"]
    assert runs_emulator.control.counters()["inference_sh"]["tasks_created"] == 2


def test_runs_dag_test_reports_a_broken_or_ambiguous_dag_file(runs_dag_test, tmp_path):
    broken = tmp_path / "broken_dag.py"
    broken.write_text("from airflow.sdk import DAG\nraise RuntimeError('typo in my DAG')\n")
    with pytest.raises(DagFileError, match="typo in my DAG"):
        runs_dag_test(broken)

    two = tmp_path / "two_dags.py"
    two.write_text(
        textwrap.dedent(
            """
            from airflow.sdk import DAG
            first = DAG("first", schedule=None)
            second = DAG("second", schedule=None)
            """
        )
    )
    with pytest.raises(DagFileError, match=r"holds the DAGs \['first', 'second'\]: pass dag_id="):
        runs_dag_test(two)
