"""DAG runs under ``dag.test()``: serializing a DAG built in a test, reading a finished run."""

from __future__ import annotations

import os
from typing import Any


def dagbag_api() -> tuple[Any, Any]:
    """``(DagBag, sync_bag_to_db)`` of this Airflow version (moved in 3.2)."""
    try:  # Airflow 3.2+
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag, sync_bag_to_db
    return DagBag, sync_bag_to_db


def serialize_dag(dag: Any) -> None:
    """Store ``dag`` (built in a test, in no DAG file) as the scheduler would, so that
    ``dag.test()`` can run it."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBag, sync_bag_to_db = dagbag_api()
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=os.devnull, collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)


def task_states(dag_run: Any) -> dict[str, str]:
    """``{task_id[map_index]: state}`` of a finished DAG run."""
    states = {}
    for ti in dag_run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        states[key] = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
    return states


def xcom_result(dag_run: Any, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
    """The value a task pushed under ``key`` in this DAG run (``None`` when absent)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(
            run_id=dag_run.run_id, key=key, task_ids=task_id, dag_ids=dag_run.dag_id, map_indexes=map_index
        )
        row = session.scalars(query).first()
        return None if row is None else XComModel.deserialize_value(row)
