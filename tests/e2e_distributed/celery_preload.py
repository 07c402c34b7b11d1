"""Celery settings of the distributed suite (``[celery] celery_config_options``): Airflow's
defaults, with the task runner and the provider's operators imported once in each worker's main
process. Every task process is forked from a worker, so the 600 task starts of the fan-out do not
import them again each (about 3 s of CPU apiece on a loaded 2-core machine)."""

from __future__ import annotations

import airflow.sdk.execution_time.task_runner  # noqa: F401
from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

import airflow_provider_runs.operators.edges
import airflow_provider_runs.operators.inferable
import airflow_provider_runs.operators.inference_sh  # noqa: F401

CELERY_CONFIG = DEFAULT_CELERY_CONFIG
