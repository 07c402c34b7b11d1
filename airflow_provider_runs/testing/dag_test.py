"""Run a DAG with ``dag.test()`` in a test and read what it did.

``dag.test()`` needs the DAG serialized in the metadata database first (else "dag is not
serialized"), as the DAG processor would have done; :func:`run_dag_test` does that, runs it and
returns a :class:`DagTestResult`. Works on Airflow 3.1 and 3.2+ (``DagBag`` moved in 3.2).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUNDLE = "dags-folder"
"""The DAG bundle serialized DAGs are recorded in (Airflow's default one)."""


class DagFileError(Exception):
    """A DAG file that does not import, or does not hold the DAG asked for."""


def dagbag_api() -> tuple[Any, Any]:
    """``(DagBag, sync_bag_to_db)`` of this Airflow version (moved in 3.2)."""
    try:  # Airflow 3.2+
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag, sync_bag_to_db  # type: ignore[no-redef]
    return DagBag, sync_bag_to_db


def _dagbag(dag_folder: str) -> Any:
    """A ``DagBag`` of ``dag_folder`` without Airflow's bundled examples (an argument until 3.1)."""
    DagBag, _ = dagbag_api()
    if "include_examples" in inspect.signature(DagBag).parameters:
        return DagBag(dag_folder=dag_folder, include_examples=False)
    return DagBag(dag_folder=dag_folder)


def load_dags(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a DAG file or folder as the DAG processor does: ``{dag_id: DAG}``.

    :param path: a ``.py`` file or a folder of DAG files.
    :raises DagFileError: when a file fails to import (with its traceback) or holds no DAG.
    """
    bag = _dagbag(str(path))
    if bag.import_errors:
        errors = "\n".join(f"{file}:\n{error}" for file, error in bag.import_errors.items())
        raise DagFileError(f"DAG files failed to import:\n{errors}")
    if not bag.dags:
        raise DagFileError(f"no DAG found in {path}")
    return dict(bag.dags)


def serialize_dag(dag: Any) -> None:
    """Store ``dag`` in the metadata database as the DAG processor would, so that
    ``dag.test()`` can run it (a DAG built in a test, or parsed from a file).

    :param dag: an ``airflow.sdk.DAG``.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    _, sync_bag_to_db = dagbag_api()
    DagBundlesManager().sync_bundles_to_db()
    bag = _dagbag(os.devnull)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, BUNDLE, None)


def _state(value: Any) -> str:
    """A task or DAG run state as plain text (``"success"``; ``"None"`` when unset)."""
    return str(getattr(value, "value", value))


def _ti_key(task_id: str, map_index: int) -> str:
    """``task_id``, or ``task_id[map_index]`` for a mapped task instance."""
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def task_states(dag_run: Any) -> dict[str, str]:
    """``{task_id or task_id[map_index]: state}`` of a finished DAG run.

    :param dag_run: what ``dag.test()`` returned.
    """
    return {_ti_key(ti.task_id, ti.map_index): _state(ti.state) for ti in dag_run.get_task_instances()}


def xcom_value(dag_run: Any, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
    """The value a task pushed under ``key`` in this DAG run (``None`` when absent).

    :param dag_run: what ``dag.test()`` returned.
    :param task_id: the task.
    :param map_index: the mapped task instance (``-1``: not mapped).
    :param key: the XCom key (``return_value``: what the task returned).
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(
            run_id=dag_run.run_id, key=key, task_ids=task_id, dag_ids=dag_run.dag_id, map_indexes=map_index
        )
        row = session.scalars(query).first()
        return None if row is None else XComModel.deserialize_value(row)


def return_values(dag_run: Any) -> dict[str, Any]:
    """``{task_id or task_id[map_index]: returned value}`` of the tasks that returned one.

    :param dag_run: what ``dag.test()`` returned.
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=dag_run.run_id, key="return_value", dag_ids=dag_run.dag_id)
        rows: list[Any] = list(session.scalars(query))
        return {_ti_key(row.task_id, row.map_index): XComModel.deserialize_value(row) for row in rows}


@dataclass(frozen=True)
class DagTestResult:
    """What a ``dag.test()`` run did, in plain values.

    :param dag_run: the DAG run ``dag.test()`` returned (``run_id``, ``get_task_instances()``...).
    :param state: the DAG run's state: ``"success"`` or ``"failed"``.
    :param task_states: ``{task_id: state}`` (``task_id[map_index]`` for mapped tasks).
    :param return_values: ``{task_id: value}`` of what each task returned (its ``return_value``
        XCom; the operators of this provider return the run's result).
    """

    dag_run: Any
    state: str
    task_states: Mapping[str, str]
    return_values: Mapping[str, Any] = field(default_factory=dict)

    def xcom(self, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        """Any XCom of this run (``None`` when absent), e.g. ``xcom("run_task", key="run_id")``.

        :param task_id: the task.
        :param key: the XCom key.
        :param map_index: the mapped task instance (``-1``: not mapped).
        """
        return xcom_value(self.dag_run, task_id, map_index=map_index, key=key)


def run_dag_test(dag: Any, **test_kwargs: Any) -> DagTestResult:
    """Serialize ``dag``, run it with ``dag.test(**test_kwargs)`` and read the run.

    :param dag: an ``airflow.sdk.DAG``.
    :param test_kwargs: passed to ``dag.test()`` (``run_conf``, ``logical_date``...).
    """
    serialize_dag(dag)
    dag_run = dag.test(**test_kwargs)
    return DagTestResult(
        dag_run=dag_run,
        state=_state(dag_run.state),
        task_states=task_states(dag_run),
        return_values=return_values(dag_run),
    )


class DagTester:
    """Runs DAGs for tests (the ``runs_dag_test`` fixture): DAG objects or DAG files, each file
    parsed once per session."""

    def __init__(self) -> None:
        """No DAG file parsed yet."""
        self._parsed: dict[Path, dict[str, Any]] = {}

    def dags(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """``{dag_id: DAG}`` of a DAG file or folder (parsed once per session).

        :param path: a ``.py`` file or a folder of DAG files.
        """
        resolved = Path(path).resolve()
        if resolved not in self._parsed:
            self._parsed[resolved] = load_dags(resolved)
        return self._parsed[resolved]

    def __call__(self, dag: Any, dag_id: str | None = None, **test_kwargs: Any) -> DagTestResult:
        """Run a DAG with ``dag.test()`` and return what it did.

        :param dag: an ``airflow.sdk.DAG``, or the path of a DAG file or folder.
        :param dag_id: which DAG of the file or folder (needed only when it holds several).
        :param test_kwargs: passed to ``dag.test()`` (``run_conf``, ``logical_date``...).
        """
        if isinstance(dag, (str, os.PathLike)):
            dag = self._pick(self.dags(dag), dag_id, dag)
        return run_dag_test(dag, **test_kwargs)

    @staticmethod
    def _pick(dags: dict[str, Any], dag_id: str | None, path: Any) -> Any:
        """The DAG ``dag_id`` of a parsed file, or its only DAG."""
        if dag_id is None and len(dags) == 1:
            return next(iter(dags.values()))
        if dag_id in dags:
            return dags[dag_id]
        raise DagFileError(f"{path} holds the DAGs {sorted(dags)}: pass dag_id= one of them")
