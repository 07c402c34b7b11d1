"""The base of every run sensor: wait for a run someone else created, same outcome mapping."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_runs.core.errors import RunsApiError
from airflow_provider_runs.links import RunLink
from airflow_provider_runs.validation import (
    InvalidArgumentError,
    check_path_segment,
    fail_without_retry,
    invalid_arguments,
)
from airflow_provider_runs.waiting.arguments import WaitArgumentsMixin
from airflow_provider_runs.waiting.deadline import defer_timeout
from airflow_provider_runs.waiting.run_record import task_state_store
from airflow_provider_runs.waiting.task_wait import RunWaitMixin
from airflow_provider_runs.waiting.vocabulary import check_on_cancelled
from airflow_provider_runs.waiting.waiter import RunWaiter, Step

HOLD_KEY = "airflow_provider_runs.hold"
"""Where a rescheduled sensor keeps a hold between pokes (the task state store, Airflow 3.3+)."""


class BaseRunSensor(RunWaitMixin, WaitArgumentsMixin, BaseSensorOperator):
    """Wait for an existing remote run to end; succeed, fail or act like the operators do.

    :param run_id: the remote run's id. Templated.
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between polls (the sensor's ``poke_interval``).
    :param timeout: the longest time to wait in seconds (the sensor's ``timeout``); deferred, it is
        measured from the first wait of this try (see :mod:`airflow_provider_runs.waiting.deadline`).
    :param max_consecutive_failures: transient polling failures in a row before failing
        (5xx, timeouts, resets; a 429 is backpressure and never counts).
    :param on_cancelled: what a run that ends ``CANCELLED`` does to the task: ``"fail"``
        (default) or ``"skip"``.
    """

    operator_extra_links = (RunLink(),)
    template_fields: Sequence[str] = ("run_id",)
    ui_color = "#eaf7ea"

    def __init__(
        self,
        *,
        run_id: str,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: timedelta | float | None = None,
        timeout: timedelta | float | None = 7 * 24 * 3600.0,
        max_consecutive_failures: int = 10,
        on_cancelled: str = "fail",
        **kwargs: Any,
    ) -> None:
        on_cancelled = check_on_cancelled(on_cancelled)
        poll, _ = self.check_wait_arguments(poll_interval, timeout, max_consecutive_failures)
        super().__init__(poke_interval=poll, timeout=timeout, **kwargs)
        self.run_id = run_id
        self.on_cancelled = on_cancelled
        self.deferrable = deferrable
        self.poll_interval = poll
        self.max_consecutive_failures = max_consecutive_failures
        self._waiter: RunWaiter | None = None

    def _check_run_id(self) -> str:
        if not isinstance(self.run_id, str) or not self.run_id.strip():
            raise InvalidArgumentError(f"run_id must be a non-empty string; got {self.run_id!r}")
        return check_path_segment(self.run_id.strip(), "run_id")

    def validate_arguments(self) -> None:
        """Check the (rendered) arguments before any HTTP call; raise ``ValueError``."""
        self._check_run_id()

    def execute(self, context: Any) -> Any:
        """Check the arguments (bad ones fail without retrying), then defer to the trigger or
        poke in the worker."""
        with invalid_arguments():
            self.validate_arguments()
        run_id = self._check_run_id()
        self._publish(context, run_id)
        if not self.deferrable:
            return super().execute(context)
        deadline = self.try_deadline()
        self.defer(
            trigger=self.make_trigger(run_id, deadline),
            method_name="execute_complete",
            timeout=defer_timeout(deadline),
        )

    def poke_waiter(self, run_id: str) -> RunWaiter:
        """The waiting rules of this try's pokes (kept between pokes: they count failures in a
        row); without a deadline, as the sensor's own ``timeout`` ends poking, and without the run
        URL in its messages (the task's extra link has it)."""
        if self._waiter is None or self._waiter.run_id != run_id:
            self._waiter = self.make_waiter(run_id, None, None)
        return self._waiter

    def poke(self, context: Any) -> bool | PokeReturnValue:
        """One status poll, judged by :class:`~airflow_provider_runs.waiting.waiter.RunWaiter`:
        transient errors count toward ``max_consecutive_failures``; a 429 (or the connection's
        request budget having no room) does not: the poke is simply not done; an error no retry
        can fix fails the task without retrying. Errors other than the service's are raised as
        they are."""
        run_id = self._check_run_id()
        waiter = self.poke_waiter(run_id)
        store = task_state_store(context) if self.reschedule else None
        if store is not None:
            waiter.hold.restore(store.get(HOLD_KEY), run_id)
        step = self._poll(waiter, run_id)
        while step.event is None and self.reschedule and store is None and waiter.hold.holding:
            time.sleep(step.sleep)  # nowhere to keep the hold between pokes: re-read in this one
            step = self._poll(waiter, run_id)
        if store is not None:
            held = waiter.hold.to_value(run_id)
            if held is not None:
                store.set(HOLD_KEY, held)
            elif store.get(HOLD_KEY) is not None:
                store.delete(HOLD_KEY)
        if step.event is None:
            return False
        run_id, status = self.status_from_event(step.event)
        with fail_without_retry():
            return PokeReturnValue(is_done=True, xcom_value=self.finish(context, run_id, status))

    def _poll(self, waiter: RunWaiter, run_id: str) -> Step:
        """One status poll, judged by ``waiter``."""
        try:
            return waiter.on_status(self.hook.get_status(run_id))
        except RunsApiError as exc:
            return waiter.on_error(exc)

    def execute_complete(self, context: Any, event: Mapping[str, Any] | None = None) -> Any:
        """Map the trigger's event to the outcome."""
        run_id, status = self.status_from_event(event)
        with fail_without_retry():
            return self.finish(context, run_id, status)
