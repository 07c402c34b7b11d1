"""Wait for an Inferable run created elsewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.operators.inferable import (
    FAILED_GRACE,
    InferableTaskMixin,
    check_grace,
    read_on_needs_action,
    run_manifest,
)
from airflow_provider_runs.results import ResultSchema
from airflow_provider_runs.sensors.base import BaseRunSensor
from airflow_provider_runs.services import INFERABLE

SENSOR_POLICIES = ("wait", "fail")
"""What the sensor does with a run waiting for an approval (it cannot ask)."""


class InferableRunSensor(InferableTaskMixin, BaseRunSensor):
    """Wait for an Inferable run to end, with the operator's outcome mapping.

    ``done`` succeeds (the result validated against ``result_schema`` when given), ``failed``
    fails with the failure reason once it has held for ``failed_grace`` seconds (Inferable may
    retry a failed run). A run waiting for an approval keeps the sensor waiting with
    ``on_needs_action="wait"`` (default) or ends the wait with ``on_needs_action="fail"``, and
    the base's ``handle_status`` fails the task (only ``SUCCEEDED`` succeeds).

    :param run_id: the Inferable run id. Templated.
    :param inferable_conn_id: the connection id (default ``inferable_default``). Templated.
    :param cluster_id: overrides the connection's cluster id. Templated.
    :param result_schema: a JSON schema dict or pydantic model class to validate the result.
    :param on_needs_action: ``"wait"`` or ``"fail"`` for a run waiting for an approval (also as
        ``{"APPROVAL": policy}``).
    :param on_paused: deprecated name of ``on_needs_action``.
    :param failed_grace: seconds a ``failed`` run must stay ``failed`` before the task fails
        (default 30; 0 believes the first ``failed``).
    """

    template_fields: Sequence[str] = ("run_id", "inferable_conn_id", "cluster_id")

    def __init__(
        self,
        *,
        inferable_conn_id: str = INFERABLE.default_conn_id,
        cluster_id: str | None = None,
        result_schema: Mapping[str, Any] | type | None = None,
        on_needs_action: str | Mapping[str, str] | None = None,
        failed_grace: float = FAILED_GRACE,
        on_paused: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.on_needs_action = read_on_needs_action(on_needs_action, on_paused, SENSOR_POLICIES)
        self.failed_grace = check_grace(failed_grace)
        self.inferable_conn_id = inferable_conn_id
        self.cluster_id = cluster_id
        self.result = ResultSchema.from_argument(result_schema)

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """Read the run once; validate its result."""
        return run_manifest(self.hook, run_id, self.result)
