"""Wait for an Edges run created elsewhere (the next run of a schedule: :mod:`.edges_schedule`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, ClassVar

from airflow_provider_runs.core.states import RunState, RunStatus, StopCondition
from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.edges_groups import RunGroup, group_manifest
from airflow_provider_runs.operators.edges_arguments import PAUSE_ACTIONS, read_needs_action
from airflow_provider_runs.sensors.base import BaseRunSensor
from airflow_provider_runs.waiting.errors import RunFailedError


class EdgesRunSensor(BaseRunSensor):
    """Wait for an Edges run to end.

    ``SUCCEEDED`` succeeds; ``PARTIAL_SUCCEEDED`` follows ``partial_success`` (``"fail"`` or
    ``"succeed"``); ``FAILED``/``INVALID`` fail with the service's reason; ``BLOCKED``/``STOPPED``
    fail with ``last_error`` unless ``on_needs_action="wait"``. A run group (the ``run_uid`` of a batch
    the operator split into several runs, ``uid1,uid2,...``) is waited on as one run.

    :param run_id: the run uid (or run group). Templated.
    :param edges_conn_id: the connection id (default ``edges_default``). Templated.
    :param partial_success: ``"fail"`` (default) or ``"succeed"``.
    :param on_needs_action: ``"fail"`` (default) or ``"wait"`` for BLOCKED/STOPPED runs; one
        policy for both or one each (``{"BLOCKED": "fail", "STOPPED": "wait"}``).
    :param on_paused: deprecated name of ``on_needs_action``.
    """

    hook_class: ClassVar[type[EdgesHook]] = EdgesHook
    conn_id_field = "edges_conn_id"
    template_fields: Sequence[str] = ("run_id", "edges_conn_id")

    def __init__(
        self,
        *,
        edges_conn_id: str = EdgesHook.default_conn_name,
        partial_success: str = "fail",
        on_needs_action: str | Mapping[str, str] | None = None,
        on_paused: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if partial_success not in ("fail", "succeed"):
            raise ValueError(f"partial_success must be 'fail' or 'succeed'; got {partial_success!r}")
        self.needs_action = read_needs_action(on_needs_action, on_paused=on_paused, allowed=("fail", "wait"))
        self.on_needs_action = {r.value: p for r, p in self.needs_action.items()}
        self.edges_conn_id = edges_conn_id
        self.partial_success = partial_success

    @cached_property
    def hook(self) -> EdgesHook:
        """The Edges hook."""
        return self.hook_class(self.conn_id, **self.hook_params())

    def stop_on_states(self) -> Sequence[StopCondition]:
        """BLOCKED/STOPPED end the wait unless their policy is ``"wait"``."""
        return [action for action in PAUSE_ACTIONS if self.needs_action[action] != "wait"]

    def handle_status(self, context: Any, run_id: str, status: RunStatus) -> dict[str, Any] | None:
        """Succeed on SUCCEEDED (and PARTIAL when allowed); fail otherwise."""
        if status.state is RunState.PARTIAL and self.partial_success == "succeed":
            return self.build_manifest(context, run_id, status)
        return super().handle_status(context, run_id, status)

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """The run's id (``run_id``, and as Edges names it, ``run_uid``), status and counts
        (results stay at the service: read them with the hook); for a run group, the combined
        status, the summed counts and each run's status."""
        group = RunGroup.parse(run_id)
        runs = [self.hook.get_run(uid) for uid in group]
        for uid, run in zip(group, runs, strict=True):
            if run.get("status") is None:
                raise RunFailedError(f"Edges run {uid} has no status")
        if group.is_split:
            return {"run_id": run_id, **group_manifest(run_id, runs, status, self.run_url(run_id))}
        return {
            "run_id": run_id,
            "run_uid": run_id,
            "status": runs[0].get("status"),
            "output_count": runs[0].get("output_count"),
            "url": self.run_url(run_id),
        }


def __getattr__(name: str) -> Any:
    """``EdgesScheduleRunSensor`` moved to :mod:`airflow_provider_runs.sensors.edges_schedule`
    (imported lazily: that module imports this one)."""
    if name == "EdgesScheduleRunSensor":
        from airflow_provider_runs.sensors.edges_schedule import EdgesScheduleRunSensor

        return EdgesScheduleRunSensor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
