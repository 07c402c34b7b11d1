"""DAG runs under ``dag.test()``: the helpers the provider ships (``airflow_provider_runs.testing``)."""

from __future__ import annotations

from airflow_provider_runs.testing.dag_test import serialize_dag, task_states
from airflow_provider_runs.testing.dag_test import xcom_value as xcom_result

__all__ = ["serialize_dag", "task_states", "xcom_result"]
