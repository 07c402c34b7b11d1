"""The toy service's operator and sensor: the base classes do reattach, waiting and outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.operators.base import BaseRunOperator
from airflow_provider_runs.sensors.base import BaseRunSensor
from toy_service.descriptor import TOY
from toy_service.hook import ToyJobsHook


def job_manifest(hook: ToyJobsHook, run_id: str, status: RunStatus | None) -> dict[str, Any]:
    """What the task returns: the job id, its state and its URL."""
    return {"run_id": run_id, "status": status.state.value if status else None, "url": hook.run_url(run_id)}


class ToyJobOperator(BaseRunOperator):
    """Submit a toy job (idempotent: its ref is the task instance's key) and wait for it.

    :param payload: the job's payload. Templated.
    :param toy_jobs_conn_id: the connection id (default ``toy_jobs_default``).
    """

    hook_class = ToyJobsHook
    conn_id_field = TOY.conn_id_arg
    template_fields: Sequence[str] = ("payload",)

    def __init__(
        self, *, payload: dict[str, Any], toy_jobs_conn_id: str = TOY.default_conn_id, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.payload = payload
        self.toy_jobs_conn_id = toy_jobs_conn_id

    def validate_arguments(self) -> None:
        """``payload`` must be a JSON object."""
        if not isinstance(self.payload, dict):
            raise ValueError(f"payload must be a JSON object; got {type(self.payload).__name__}")

    def submit(self, context: Any) -> str:
        """Create the job with the task instance's key as its ref (a retry gets the same job)."""
        ti = context["ti"]
        ref = f"{ti.dag_id}/{ti.task_id}/{ti.run_id}/{getattr(ti, 'map_index', -1)}"
        hook: ToyJobsHook = self.hook  # type: ignore[assignment]
        return str(hook.submit_job(dict(self.payload), ref)["id"])

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """The job's manifest."""
        return job_manifest(self.hook, run_id, status)  # type: ignore[arg-type]


class ToyJobSensor(BaseRunSensor):
    """Wait for a toy job created elsewhere.

    :param run_id: the job id. Templated.
    :param toy_jobs_conn_id: the connection id (default ``toy_jobs_default``).
    """

    hook_class = ToyJobsHook
    conn_id_field = TOY.conn_id_arg

    def __init__(self, *, toy_jobs_conn_id: str = TOY.default_conn_id, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.toy_jobs_conn_id = toy_jobs_conn_id

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """The job's manifest."""
        return job_manifest(self.hook, run_id, status)  # type: ignore[arg-type]
