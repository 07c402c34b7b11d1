"""The base of every run sensor: wait for a run someone else created, same outcome mapping."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_runs.core.errors import RateLimitedError, RunsApiError
from airflow_provider_runs.core.waiting import ends_wait, stop_names
from airflow_provider_runs.links import RunLink
from airflow_provider_runs.operators.base import (
    DEFER_GRACE,
    RunFailedError,
    RunFailedNoRetryError,
    RunWaitMixin,
    WaitArgumentsMixin,
    default_poll_interval,
    to_seconds,
)
from airflow_provider_runs.validation import (
    InvalidArgumentError,
    check_path_segment,
    fail_without_retry,
    invalid_arguments,
    non_retryable,
)


class BaseRunSensor(RunWaitMixin, WaitArgumentsMixin, BaseSensorOperator):
    """Wait for an existing remote run to end; succeed, fail or act like the operators do.

    :param run_id: the remote run's id. Templated.
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between polls (the sensor's ``poke_interval``).
    :param timeout: the longest time to wait in seconds (the sensor's ``timeout``).
    :param max_consecutive_failures: transient polling failures in a row before failing
        (5xx, timeouts, resets; a 429 is backpressure and never counts).
    """

    operator_extra_links = (RunLink(),)
    template_fields = ("run_id",)
    ui_color = "#eaf7ea"

    def __init__(
        self,
        *,
        run_id: str,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: timedelta | float | None = None,
        timeout: timedelta | float | None = 7 * 24 * 3600.0,
        max_consecutive_failures: int = 10,
        **kwargs: Any,
    ) -> None:
        poll_interval = default_poll_interval() if poll_interval is None else poll_interval
        self.check_wait_arguments(poll_interval, timeout, max_consecutive_failures)
        super().__init__(poke_interval=to_seconds(poll_interval, "poll_interval"), timeout=timeout, **kwargs)
        self.run_id = run_id
        self.deferrable = deferrable
        self.poll_interval = to_seconds(poll_interval, "poll_interval")
        self.max_consecutive_failures = max_consecutive_failures
        self._failures = 0

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
        timeout = to_seconds(self.timeout, "timeout")
        deadline = None if timeout is None else time.time() + timeout
        self.defer(
            trigger=self.make_trigger(run_id, deadline),
            method_name="execute_complete",
            timeout=None if timeout is None else timedelta(seconds=timeout + DEFER_GRACE),
        )

    def poke(self, context: Any) -> bool | PokeReturnValue:
        """One status poll; transient errors count toward ``max_consecutive_failures``, a 429
        (or the connection's request budget having no room) does not: the poke is simply not done."""
        run_id = self._check_run_id()
        try:
            status = self.hook.get_status(run_id)
        except RunsApiError as exc:
            if isinstance(exc, RateLimitedError):
                self.log.info(
                    "Polling run %s was rate-limited (not a failure); next poke later: %s", run_id, exc
                )
                return False
            if not exc.retryable:
                error = RunFailedNoRetryError if non_retryable(exc) is not None else RunFailedError
                raise error(f"Polling run {run_id} failed: {exc}") from None
            self._failures += 1
            if self._failures >= self.max_consecutive_failures:
                raise RunFailedError(
                    f"Polling run {run_id} failed {self._failures} times in a row; last error: {exc}"
                ) from None
            self.log.warning("Polling run %s failed (%d in a row): %s", run_id, self._failures, exc)
            return False
        self._failures = 0
        if not ends_wait(status, stop_names(self.stop_on_states())):
            return False
        with fail_without_retry():
            result = self.secret_free(self.handle_status(context, run_id, status))
            return PokeReturnValue(is_done=True, xcom_value=result)

    def execute_complete(self, context: Any, event: Mapping[str, Any] | None = None) -> Any:
        """Map the trigger's event to the outcome."""
        run_id, status = self.status_from_event(event)
        with fail_without_retry():
            return self.secret_free(self.handle_status(context, run_id, status))
