"""``make demo``: run every example DAG through Airflow against the local emulator.

Starts the emulator (no network beyond 127.0.0.1), points the provider's default connections
at it, migrates a throwaway Airflow metadata DB, runs each example DAG with ``dag.test()`` and
prints every task's final state and output. The emulator is stopped on success and failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / ".demo" / "airflow-home"
EXAMPLES = ROOT / "example_dags"
RUN_LINK_XCOM_KEY = "_link_RunLink"
"""Where Airflow keeps a finished task's "Run" link (what the UI shows)."""


def configure(url: str, work_dir: str) -> None:
    """Environment for Airflow: a fresh home, the example DAGs, connections to the emulator, and
    ``work_dir`` for the files of the Edges example (a directory of the demo's own)."""
    from airflow_provider_runs.testing.emulator import connection_env_for

    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "EDGES_EXAMPLE_DIR": work_dir,
        }
    )
    os.environ.update(connection_env_for(url))


def run_dags() -> int:
    """Run every example DAG; print task states and outputs; return the number of failed runs."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    try:
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    except ImportError:
        from airflow.models.dagbag import DagBag, sync_bag_to_db
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(EXAMPLES))
    if bag.import_errors:
        print(json.dumps(bag.import_errors, indent=2))
        return 1
    sync_bag_to_db(bag, "dags-folder", None)
    failed = 0
    for dag_id in sorted(bag.dags):
        started = time.time()
        dag_run = bag.dags[dag_id].test()
        state = str(getattr(dag_run.state, "value", dag_run.state))
        failed += state != "success"
        print(f"\n=== {dag_id}: {state} in {time.time() - started:.1f}s")
        with create_session() as session:
            for ti in sorted(
                dag_run.get_task_instances(session=session), key=lambda t: (t.task_id, t.map_index)
            ):
                name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
                value = xcom(session, XComModel, ti, "return_value")
                ti_state = str(getattr(ti.state, "value", ti.state))
                print(f"  {name:<28} {ti_state:<10} {json.dumps(value, default=str)[:160]}")
                if link := xcom(session, XComModel, ti, RUN_LINK_XCOM_KEY):
                    print(f"  {'':<28} Run link:  {link}")
    return failed


def xcom(session: Any, model: Any, ti: Any, key: str) -> Any:
    """The value a task instance pushed under ``key`` (``None`` when absent)."""
    query = model.get_many(
        run_id=ti.run_id, key=key, task_ids=ti.task_id, dag_ids=ti.dag_id, map_indexes=ti.map_index
    )
    row = session.scalars(query).first()
    return None if row is None else model.deserialize_value(row)


def main() -> int:
    started = time.time()
    from airflow_provider_runs.testing.emulator.server import start_emulator_process, stop_emulator_process

    proc, url = start_emulator_process(["--time-scale", "1"], ROOT / ".demo" / "emulator.log")
    work_dir = tempfile.mkdtemp(prefix="runs-demo-edges-")
    try:
        print(f"emulator: {url}")
        configure(url, work_dir)
        from airflow_provider_runs.testing.hitl import HumanInTheLoopResponder

        # plays the human who approves the agent's tool call in example_inferable_approval
        with HumanInTheLoopResponder(choice="Approve") as human:
            failed = run_dags()
        for answer in human.answered:
            print(f"\n(approved in Airflow: {answer['subject']})")
    finally:
        stop_emulator_process(proc)
        shutil.rmtree(work_dir, ignore_errors=True)
    print(f"\ndemo finished in {time.time() - started:.1f}s; {failed} DAG run(s) failed; emulator stopped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
