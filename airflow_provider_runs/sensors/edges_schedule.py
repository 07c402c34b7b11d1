"""Wait for the next run of an Edges schedule, then for that run to end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_runs.hooks.edges_schedule_runs import floor_second
from airflow_provider_runs.links import publish_run_url
from airflow_provider_runs.sensors.edges import EdgesRunSensor
from airflow_provider_runs.validation import (
    InvalidArgumentError,
    check_path_segment,
    fail_without_retry,
    invalid_arguments,
    parse_datetime,
)
from airflow_provider_runs.waiting.deadline import defer_timeout
from airflow_provider_runs.waiting.errors import RunFailedError, RunFailedNoRetryError
from airflow_provider_runs.waiting.run_record import task_state_store

SINCE_KEY = "airflow_provider_runs.edges_schedule_since"
"""Task state store key of the cut-off, so a retry keeps the first try's (Airflow 3.3+)."""


class EdgesScheduleRunSensor(EdgesRunSensor):
    """Wait for the next run of an Edges schedule (its first run created at or after
    ``created_after``), then for that run to end as
    :class:`~airflow_provider_runs.sensors.edges.EdgesRunSensor` does (same ``partial_success``
    and pause policy).

    Deferred (the default), the sensor reads the schedule once (its action; a missing schedule
    fails here) and defers at once: the triggerer polls with one narrow request per poll,
    ``GET /runs?action_name=<action>&sort=-created_at&limit=20``, matching ``scheduled_run_uid``
    and comparing ``created_at`` as a datetime (see :mod:`~airflow_provider_runs.hooks.edges_schedule_runs`).
    When the run exists the task resumes for a moment and defers again on the run. With
    ``deferrable=False`` each poke makes the same single request. ``mode="reschedule"`` is
    refused: the run found by one poke would be lost before the next.

    A cancelled or completed schedule whose next run does not exist yet fails at once: it will
    start none.

    :param schedule_uid: the schedule's uid. Templated.
    :param created_after: the cut-off (ISO 8601 text or a datetime; without an offset: UTC), e.g.
        ``"{{ data_interval_end }}"``. Default: when the sensor first ran; a retry keeps the first
        try's cut-off where the task state store exists (Airflow 3.3+). Templated.
    :param edges_conn_id: the connection id (default ``edges_default``). Templated.
    :param deferrable: wait in the triggerer (default ``True``: a schedule's next run may be days
        away, and a worker slot is not held for it).
    :param partial_success: see :class:`~airflow_provider_runs.sensors.edges.EdgesRunSensor`.
    :param on_needs_action: see :class:`~airflow_provider_runs.sensors.edges.EdgesRunSensor`.
    """

    template_fields: Sequence[str] = ("schedule_uid", "created_after", "edges_conn_id")

    def __init__(
        self,
        *,
        schedule_uid: str,
        created_after: str | datetime | None = None,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("mode") == "reschedule":
            raise ValueError(
                "EdgesScheduleRunSensor does not support mode='reschedule' (the run one poke finds "
                "would be lost before the next); use deferrable=True (the default) to free the "
                "worker slot while waiting"
            )
        super().__init__(run_id="", deferrable=deferrable, **kwargs)
        self.schedule_uid = schedule_uid
        self.created_after = created_after
        self._action_name: str | None = None
        self._cut_off: datetime | None = None
        self._schedule_status = ""

    # -- arguments ---------------------------------------------------------------------------
    def validate_arguments(self) -> None:
        """Check ``schedule_uid`` and ``created_after`` (before any HTTP call)."""
        if not isinstance(self.schedule_uid, str) or not self.schedule_uid.strip():
            raise InvalidArgumentError(f"schedule_uid must be a non-empty string; got {self.schedule_uid!r}")
        check_path_segment(self.schedule_uid.strip(), "schedule_uid")
        parse_datetime(self.created_after, "created_after")

    def cut_off(self, context: Any) -> datetime:
        """The cut-off: ``created_after``, else the first try's start (kept in the task state
        store), else now; floored to the second."""
        given = parse_datetime(self.created_after, "created_after")
        if given is not None:
            return floor_second(given)
        store = task_state_store(context)
        kept = store.get(SINCE_KEY) if store is not None else None
        if isinstance(kept, str):
            try:
                return floor_second(parse_datetime(kept, SINCE_KEY) or datetime.now(timezone.utc))
            except InvalidArgumentError:
                pass
        now = floor_second(datetime.now(timezone.utc))
        if store is not None:
            store.set(SINCE_KEY, now.isoformat())
        return now

    # -- execution ---------------------------------------------------------------------------
    def execute(self, context: Any) -> Any:
        """Read the schedule, publish its link, then defer (or poke) for its next run."""
        with invalid_arguments():
            self.validate_arguments()
        self.schedule_uid = self.schedule_uid.strip()
        self._cut_off = self.cut_off(context)
        with fail_without_retry():
            schedule = self.hook.get_schedule(self.schedule_uid)
        self._action_name = str(schedule.get("action_name") or "")
        if not self._action_name:
            raise RunFailedError(
                f"Edges schedule {self.schedule_uid} has no action_name; cannot look for its runs"
            )
        self._schedule_status = str(schedule.get("status") or "")
        publish_run_url(self, context, self.hook.schedule_url(self.schedule_uid))
        self.log.info(
            "Waiting for the first run of schedule %s (%s, %s) created at or after %s.",
            self.schedule_uid,
            self._action_name,
            self._schedule_status,
            self._cut_off.isoformat(),
        )
        if not self.deferrable:
            return BaseSensorOperator.execute(self, context)
        if self._schedule_status in ("CANCELLED", "COMPLETED"):
            found = self._look_once()
            if found is None:
                raise self._will_start_none()
            return self._on_found(context, found, self.try_deadline())
        from airflow_provider_runs.triggers.edges_schedule import EdgesScheduleRunTrigger

        deadline = self.try_deadline()
        self.defer(
            trigger=EdgesScheduleRunTrigger(
                conn_id=self.conn_id,
                schedule_uid=self.schedule_uid,
                action_name=self._action_name,
                created_after=self._cut_off.isoformat(),
                poll_interval=self.poll_interval,
                deadline=deadline,
                max_consecutive_failures=self.max_consecutive_failures,
                schedule_url=self.hook.schedule_url(self.schedule_uid),
                hook_params=self.hook_params(),
            ),
            method_name="run_found",
            kwargs={"deadline": deadline},
            timeout=defer_timeout(deadline),
        )

    def _look_once(self) -> str | None:
        """One narrow look-up of the schedule's next run; its uid, or ``None``."""
        assert self._action_name is not None and self._cut_off is not None
        run = self.hook.find_schedule_run(
            self.schedule_uid, action_name=self._action_name, created_after=self._cut_off
        )
        return str(run["uid"]) if run else None

    def _will_start_none(self) -> RunFailedNoRetryError:
        return RunFailedNoRetryError(
            f"Edges schedule {self.schedule_uid} is {self._schedule_status} and started no run "
            f"created at or after {self._cut_off.isoformat() if self._cut_off else '?'}; it will start "
            f"none. Schedule: {self.hook.schedule_url(self.schedule_uid)}"
        )

    def _on_found(self, context: Any, run_uid: str, deadline: float | None) -> Any:
        """Publish the run and wait for it (deferred: on the generic run trigger)."""
        self.run_id = run_uid
        self.log.info("Schedule %s started run %s: %s", self.schedule_uid, run_uid, self.run_url(run_uid))
        self._publish(context, run_uid)
        publish_run_url(self, context, self.run_url(run_uid))
        self.keep_deadline(deadline)
        if not self.deferrable:
            return None
        self.defer(
            trigger=self.make_trigger(run_uid, deadline),
            method_name="execute_complete",
            timeout=defer_timeout(deadline),
        )

    def run_found(
        self, context: Any, event: Mapping[str, Any] | None = None, deadline: float | None = None
    ) -> Any:
        """Resume after the schedule trigger: wait for the run it found, or fail with its message."""
        kind = (event or {}).get("event")
        if kind == "found" and (event or {}).get("run_uid"):
            return self._on_found(context, str(event["run_uid"]), deadline)  # type: ignore[index]
        message = str(
            (event or {}).get("message") or f"Waiting for schedule {self.schedule_uid} ended: {event!r}"
        )
        if (event or {}).get("retryable") is False:
            raise RunFailedNoRetryError(message)
        raise RunFailedError(message)

    def poke(self, context: Any) -> bool | PokeReturnValue:
        """Worker-side: one narrow look-up per poke until the run exists, then the run's status."""
        if not self.run_id:
            found = self._look_once()
            if found is None:
                if self._schedule_status in ("CANCELLED", "COMPLETED"):
                    raise self._will_start_none()
                return False
            self._on_found(context, found, None)
            return False
        return super().poke(context)

    def build_manifest(self, context: Any, run_id: str, status: Any) -> dict[str, Any]:
        """The run's manifest (:class:`~airflow_provider_runs.sensors.edges.EdgesRunSensor`) with
        the schedule's uid."""
        return {**super().build_manifest(context, run_id, status), "schedule_uid": self.schedule_uid}
