"""Wait for an Edges run created elsewhere, or for the next run of a schedule."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

from airflow_provider_runs.core.states import ActionNeeded, RunState, RunStatus, StopCondition
from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.edges_groups import RunGroup, group_manifest
from airflow_provider_runs.sensors.base import BaseRunSensor
from airflow_provider_runs.validation import service_time
from airflow_provider_runs.waiting.deadline import wait_deadline
from airflow_provider_runs.waiting.errors import RunFailedError


class EdgesRunSensor(BaseRunSensor):
    """Wait for an Edges run to end.

    ``SUCCEEDED`` succeeds; ``PARTIAL_SUCCEEDED`` follows ``partial_success`` (``"fail"`` or
    ``"succeed"``); ``FAILED``/``INVALID`` fail with the service's reason; ``BLOCKED``/``STOPPED``
    fail with ``last_error`` unless ``on_paused="wait"``. A run group (the ``run_uid`` of a batch
    the operator split into several runs, ``uid1,uid2,...``) is waited on as one run.

    :param run_id: the run uid (or run group). Templated.
    :param edges_conn_id: the connection id (default ``edges_default``).
    :param partial_success: ``"fail"`` (default) or ``"succeed"``.
    :param on_paused: ``"fail"`` (default) or ``"wait"`` for BLOCKED/STOPPED runs.
    """

    hook_class: ClassVar[type[EdgesHook]] = EdgesHook
    conn_id_field = "edges_conn_id"
    template_fields: Sequence[str] = ("run_id",)

    def __init__(
        self,
        *,
        edges_conn_id: str = EdgesHook.default_conn_name,
        partial_success: str = "fail",
        on_paused: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if partial_success not in ("fail", "succeed"):
            raise ValueError(f"partial_success must be 'fail' or 'succeed'; got {partial_success!r}")
        if on_paused not in ("fail", "wait"):
            raise ValueError(f"on_paused must be 'fail' or 'wait'; got {on_paused!r}")
        self.edges_conn_id = edges_conn_id
        self.partial_success = partial_success
        self.on_paused = on_paused

    @cached_property
    def hook(self) -> EdgesHook:
        """The Edges hook."""
        return self.hook_class(self.conn_id, **self.hook_params())

    def stop_on_states(self) -> Sequence[StopCondition]:
        """BLOCKED/STOPPED end the wait unless ``on_paused="wait"``."""
        return () if self.on_paused == "wait" else (ActionNeeded.BLOCKED, ActionNeeded.STOPPED)

    def handle_status(self, context: Any, run_id: str, status: RunStatus) -> dict[str, Any] | None:
        """Succeed on SUCCEEDED (and PARTIAL when allowed); fail otherwise."""
        if status.state is RunState.PARTIAL and self.partial_success == "succeed":
            return self.build_manifest(context, run_id, status)
        return super().handle_status(context, run_id, status)

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """The run's status and counts (results stay at the service: read them with the hook);
        for a run group, the combined status, the summed counts and each run's status."""
        group = RunGroup.parse(run_id)
        runs = [self.hook.get_run(uid) for uid in group]
        for uid, run in zip(group, runs, strict=True):
            if run.get("status") is None:
                raise RunFailedError(f"Edges run {uid} has no status")
        if group.is_split:
            return group_manifest(run_id, runs, status, self.run_url(run_id))
        return {
            "run_uid": run_id,
            "status": runs[0].get("status"),
            "output_count": runs[0].get("output_count"),
            "url": self.run_url(run_id),
        }


class EdgesScheduleRunSensor(EdgesRunSensor):
    """Wait for the next run of a schedule (created after the sensor started), then for it to end.

    :param schedule_uid: the schedule's uid. Templated.
    """

    template_fields: Sequence[str] = ("schedule_uid",)

    def __init__(self, *, schedule_uid: str, **kwargs: Any) -> None:
        super().__init__(run_id="", **kwargs)
        self.schedule_uid = schedule_uid

    def execute(self, context: Any) -> Any:
        """Find the schedule's next run, then wait for it like :class:`EdgesRunSensor`."""
        from datetime import datetime, timezone

        started = datetime.now(timezone.utc)
        self.run_id = self._find_next_run(started, context)
        return super().execute(context)

    def _find_next_run(self, started: Any, context: Any) -> str:
        import time

        deadline = wait_deadline(self.timeout)
        while True:
            for run in self.hook.iter_runs(sort="-created_at", page_size=50):
                if run.get("scheduled_run_uid") != self.schedule_uid:
                    continue
                created = service_time(run, "created_at", service="Edges")
                if created is not None and created >= started.replace(microsecond=0):
                    return str(run["uid"])
                break
            if deadline is not None and time.time() > deadline:
                raise RunFailedError(f"Schedule {self.schedule_uid} started no run before the timeout")
            time.sleep(self.poll_interval)
