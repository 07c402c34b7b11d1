"""Wait for an inference.sh task created elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, cast

from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.operators.inference_sh import task_manifest
from airflow_provider_runs.sensors.base import BaseRunSensor
from airflow_provider_runs.services import INFERENCE_SH
from airflow_provider_runs.validation import check_output_path


class InferenceShTaskSensor(BaseRunSensor):
    """Wait for an inference.sh task to end; succeed on ``completed``, fail otherwise.

    Returns the same manifest as
    :class:`~airflow_provider_runs.operators.inference_sh.InferenceShTaskOperator`.

    :param run_id: the inference.sh task id (``task_...``). Templated.
    :param inference_sh_conn_id: the connection id (default ``inference_sh_default``). Templated.
    :param output_path: write the output as JSON here instead of returning it. Templated.
    :param status_numbering: overrides the connection's ``status_numbering``.
    """

    hook_class = InferenceShHook
    conn_id_field = "inference_sh_conn_id"
    template_fields: Sequence[str] = ("run_id", "output_path", "inference_sh_conn_id")

    def __init__(
        self,
        *,
        inference_sh_conn_id: str = INFERENCE_SH.default_conn_id,
        output_path: str | None = None,
        status_numbering: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.inference_sh_conn_id = inference_sh_conn_id
        self.output_path = output_path
        self.status_numbering = status_numbering

    @cached_property
    def hook(self) -> InferenceShHook:
        """The inference.sh hook."""
        return cast(InferenceShHook, super().hook)

    def validate_arguments(self) -> None:
        """Check ``run_id`` and ``output_path`` before any call."""
        super().validate_arguments()
        self.output_path = check_output_path(self.output_path, "output_path")

    def hook_params(self) -> dict[str, Any]:
        """Pass the numbering override to the hook (and the trigger)."""
        return {"status_numbering": self.status_numbering} if self.status_numbering else {}

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """Read the task once and build the manifest."""
        return task_manifest(self.hook, run_id, status, output_path=self.output_path, app=None)
