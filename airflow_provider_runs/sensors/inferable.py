"""Wait for an Inferable run created elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.operators.inferable import InferableTaskMixin, run_manifest
from airflow_provider_runs.results import ResultSchema
from airflow_provider_runs.sensors.base import BaseRunSensor
from airflow_provider_runs.services import INFERABLE


class InferableRunSensor(InferableTaskMixin, BaseRunSensor):
    """Wait for an Inferable run to end, with the operator's outcome mapping.

    ``done`` succeeds (the result validated against ``result_schema`` when given), ``failed``
    fails with the failure reason. A run waiting for an approval keeps the sensor waiting with
    ``on_paused="wait"`` (default) or ends the wait with ``on_paused="fail"``, and the base's
    ``handle_status`` fails the task (only ``SUCCEEDED`` succeeds).

    :param run_id: the Inferable run id. Templated.
    :param inferable_conn_id: the connection id (default ``inferable_default``).
    :param cluster_id: overrides the connection's cluster id.
    :param result_schema: a JSON schema dict or pydantic model class to validate the result.
    :param on_paused: ``"wait"`` or ``"fail"`` for a run waiting for an approval.
    """

    def __init__(
        self,
        *,
        inferable_conn_id: str = INFERABLE.default_conn_id,
        cluster_id: str | None = None,
        result_schema: Mapping[str, Any] | type | None = None,
        on_paused: str = "wait",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if on_paused not in ("wait", "fail"):
            raise ValueError(f"on_paused must be 'wait' or 'fail' for a sensor; got {on_paused!r}")
        self.inferable_conn_id = inferable_conn_id
        self.cluster_id = cluster_id
        self.result = ResultSchema.from_argument(result_schema)
        self.on_paused = on_paused

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """Read the run once; validate its result."""
        return run_manifest(self.hook, run_id, self.result)
