"""The reusable base of every run operator: reattach or submit once, wait, map the outcome.

A service operator implements :meth:`BaseRunOperator.submit` (create the remote run),
optionally :meth:`BaseRunOperator.find_submitted` (find a run an earlier try created when the
service has no idempotency key) and :meth:`BaseRunOperator.build_manifest` (the small XCom
result). Reattachment lives here; waiting, the deadline and the mapping from
:class:`~airflow_provider_runs.core.states.RunState` to the task outcome are shared with the
sensors (:mod:`airflow_provider_runs.waiting`); claims are in :mod:`.claims`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator, conf

from airflow_provider_runs.core.errors import AmbiguousWriteError, NotFoundError, RunsApiError
from airflow_provider_runs.core.retry import DEFAULT_RETRY
from airflow_provider_runs.core.states import RunState
from airflow_provider_runs.core.timers import sane_seconds
from airflow_provider_runs.links import RunLink
from airflow_provider_runs.operators.claims import PHASE_LOOKUP, ClaimsMixin
from airflow_provider_runs.validation import fail_without_retry, invalid_arguments, parse_timestamp
from airflow_provider_runs.waiting.arguments import WaitArgumentsMixin, default_poll_interval
from airflow_provider_runs.waiting.deadline import defer_timeout
from airflow_provider_runs.waiting.errors import RunFailedError, RunFailedNoRetryError
from airflow_provider_runs.waiting.run_record import (
    RunRecord,
    earliest_start,
    load_record,
    mark_completed,
    save_record,
    task_state_store,
    utcnow_iso,
)
from airflow_provider_runs.waiting.task_wait import RunWaitMixin
from airflow_provider_runs.waiting.vocabulary import check_on_cancelled

__all__ = [
    "BaseRunOperator",
    "ReattachError",
    "RunFailedError",
    "RunFailedNoRetryError",
    "default_poll_interval",
]

RECONCILE_SKEW = timedelta(minutes=2)
"""Clock skew allowed when looking up a run created by an ambiguous or crashed create call."""
MAX_AMBIGUOUS_CREATES = 3
REATTACH_WINDOW = 300.0
"""Seconds a try keeps reading an earlier run through transient errors when the task has no
``timeout`` (then the try fails without creating a run, and Airflow retries it)."""
_T = TypeVar("_T")


class ReattachError(AirflowException):
    """An earlier run of this task instance could not be read before deciding whether to create
    another: nothing was created; the try fails and Airflow retries it."""


class BaseRunOperator(ClaimsMixin, RunWaitMixin, WaitArgumentsMixin, BaseOperator):
    """Create a remote run once and wait for it; the base of every service operator.

    :param wait_for_completion: wait for the run to end (default). When ``False`` the task
        returns right after the run is created.
    :param deferrable: wait in the triggerer instead of holding a worker slot; defaults to
        ``[operators] default_deferrable``.
    :param poll_interval: seconds between status polls (default ``[runs] default_poll_interval``, 5).
    :param timeout: the longest time to wait for the run (seconds or ``timedelta``), measured
        from the first wait of this try (see :mod:`airflow_provider_runs.waiting.deadline`);
        ``None`` waits forever.
    :param cancel_on_kill: cancel the remote run when the task is killed (worker ``on_kill``, or a
        user marking a deferred task failed), where the service can cancel.
    :param max_consecutive_failures: transient polling failures in a row before the task fails.
    :param on_cancelled: what a run that ends ``CANCELLED`` does to the task: ``"fail"``
        (default) or ``"skip"`` (the task is skipped, with the run's URL in the message).
    """

    operator_extra_links = (RunLink(),)
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: timedelta | float | None = None,
        timeout: timedelta | float | None = None,
        cancel_on_kill: bool = True,
        max_consecutive_failures: int = 10,
        on_cancelled: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.on_cancelled = check_on_cancelled(on_cancelled)
        self.poll_interval, self.timeout = self.check_wait_arguments(
            poll_interval, timeout, max_consecutive_failures
        )
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.cancel_on_kill = cancel_on_kill
        self.max_consecutive_failures = max_consecutive_failures
        self._run_id: str | None = None
        self.wait_state: dict[str, Any] = {}
        self.previous_run_id: str | None = None

    def validate_arguments(self) -> None:
        """Check the (rendered) arguments before any HTTP call; raise ``ValueError``."""

    def check_arguments(self) -> None:
        """Run :meth:`validate_arguments`; its ``ValueError`` becomes :class:`InvalidArgumentError`
        (the task fails without retrying: the same arguments would fail again)."""
        with invalid_arguments():
            self.validate_arguments()

    def submit(self, context: Any) -> str:
        """Create the remote run; return its id."""
        raise NotImplementedError

    def find_submitted(self, context: Any, since: datetime) -> str | None:
        """Find a run this task instance created at or after ``since`` (services without an
        idempotency key); ``None`` when there is none or the service has its own key."""
        return None

    def execute(self, context: Any) -> Any:
        """Validate, reattach or submit, then wait (deferred or here) and map the outcome.

        Bad arguments, 401/403 and 400/413/422 answers fail the task without retrying.
        """
        with fail_without_retry():
            self.check_arguments()
            run_id, reattached = self.reattach_or_submit(context)
            return self.wait(context, run_id, reattached=reattached)

    def reattach_or_submit(self, context: Any, *, force_new: bool = False) -> tuple[str, bool]:
        """Reuse the run an earlier try created when it can still deliver; else create one.

        With the task state store (Airflow 3.3+) the record of the earlier try decides; a record
        marked completed means the task succeeded and was cleared: a new run is started. Without
        a store (Airflow < 3.3) a retry looks its run up at the service (``find_submitted``).

        A new run is created only when no earlier run exists or the earlier run definitely
        ended without success (failed, cancelled, or 404). When the earlier run cannot be read
        (429, 5xx, timeouts), reading is retried within :meth:`reattach_window`; then the try
        fails (:class:`ReattachError`, retried by Airflow) without creating anything. Services
        without a client reference also publish claims (:mod:`~airflow_provider_runs.operators.claims`).
        """
        try_number = _try_number(context)
        record = None if force_new else load_record(context)
        self.previous_run_id = record.run_id if record is not None and record.completed else None
        if record is not None and record.completed:
            self.log.info(
                "Run %s of an earlier try succeeded and the task was cleared: starting a new run.",
                record.run_id,
            )
            self._not_reattachable(record.run_id)
        elif record is not None:
            run_id = record.run_id
            self._claim(context, run_id, record.submitted_datetime, PHASE_LOOKUP)  # republish first thing
            if run_id is None:
                run_id = self._look_up(context, record.submitted_datetime - RECONCILE_SKEW)
                if run_id:
                    self.log.info("Found run %s created by try %s before it died.", run_id, record.try_number)
            if run_id and self._can_reattach(run_id):
                self.log.info(
                    "Reattaching to run %s (created by try %s): %s",
                    run_id,
                    record.try_number,
                    self.run_url(run_id),
                )
                save_record(context, RunRecord(run_id, record.submitted_at, record.try_number))
                self._publish(context, run_id)
                self._claim(context, run_id, record.submitted_datetime)
                return run_id, True
        elif not force_new and try_number > 1 and task_state_store(context) is None:
            earliest = earliest_start(context)
            self._claim(context, None, earliest, PHASE_LOOKUP)
            run_id = self._look_up(context, earliest - RECONCILE_SKEW)
            if run_id and self._can_reattach(run_id):
                self.log.info("Reattaching to run %s found at the service: %s", run_id, self.run_url(run_id))
                self._publish(context, run_id)
                self._claim(context, run_id, earliest)
                return run_id, True
        submitted_at = utcnow_iso()
        submitted = parse_timestamp(submitted_at)
        self._claim(context, None, submitted)  # an intent, visible before the create call
        save_record(context, RunRecord(None, submitted_at, try_number))
        run_id = self._submit_once(context, submitted)
        self._claim(context, run_id, submitted)
        save_record(context, RunRecord(run_id, submitted_at, try_number))
        self.log.info("Created run %s: %s", run_id, self.run_url(run_id))
        self._publish(context, run_id)
        return run_id, False

    def _submit_once(self, context: Any, submitted_at: datetime) -> str:
        """Create the run; after an ambiguous failure, look it up before creating again."""
        for attempt in range(1, MAX_AMBIGUOUS_CREATES + 1):
            if attempt > 1:
                self._claim(context, None, submitted_at)  # creating again: no look-up will follow
            try:
                return self.submit(context)
            except AmbiguousWriteError as exc:
                self._claim(context, None, submitted_at, PHASE_LOOKUP)
                found = self._look_up(context, submitted_at - RECONCILE_SKEW)
                if found:
                    self.log.warning("Create call failed ambiguously (%s) but the run exists: %s", exc, found)
                    return found
                if attempt == MAX_AMBIGUOUS_CREATES:
                    raise
                self.log.warning("Create call failed (%s) and no run was created; creating again.", exc)
        raise AssertionError("unreachable")

    # -- reading earlier runs before deciding to create ----------------------------------------
    def reattach_window(self) -> float:
        """Seconds a try keeps reading an earlier run through transient errors: the task's
        ``timeout`` when set, else :data:`REATTACH_WINDOW` (5 minutes)."""
        return self.timeout if self.timeout is not None else REATTACH_WINDOW

    def _read_earlier(self, what: str, read: Callable[[], _T]) -> _T:
        """Call ``read`` (a read of an earlier run, or a look-up) until it answers.

        Transient errors (429, 5xx, timeouts, drops) are retried with backoff that honours the
        service's ``Retry-After`` (clamped to the hook's ``max_retry_after``) within
        :meth:`reattach_window`; past it, :class:`ReattachError`. ``NotFoundError`` and the other
        non-retryable errors (401/403, ...) are raised as they are. Nothing is ever created here.
        """
        deadline = time.monotonic() + self.reattach_window()
        failures = 0
        while True:
            try:
                return read()
            except RunsApiError as exc:
                if not exc.retryable:
                    raise
                failures += 1
                policy = getattr(self.hook, "retry", None) or DEFAULT_RETRY
                delay = sane_seconds(policy.backoff(failures, exc.retry_after))
                remaining = deadline - time.monotonic()
                if delay > remaining:
                    raise ReattachError(
                        f"Cannot read {what}: {exc}. Tried for {self.reattach_window():.0f}s "
                        f"({failures} rounds); not creating a new run while an earlier one may still "
                        "be going. The task will retry."
                    ) from exc
                self.log.warning(
                    "Reading %s failed (%d in a row), trying again in %.1fs: %s", what, failures, delay, exc
                )
                time.sleep(delay)

    def _look_up(self, context: Any, since: datetime) -> str | None:
        """:meth:`find_submitted` through :meth:`_read_earlier`."""
        return self._read_earlier("the runs created earlier", lambda: self.find_submitted(context, since))

    def _can_reattach(self, run_id: str) -> bool:
        """A run can be reattached while it is going or once it succeeded.

        ``False`` (create a new run) only when the run definitely ended without success or is
        not found (404); a run that cannot be read raises instead (see :meth:`_read_earlier`).
        """
        try:
            status = self._read_earlier(f"earlier run {run_id}", lambda: self.hook.get_status(run_id))
        except NotFoundError as exc:
            self.log.warning("Earlier run %s does not exist (%s); creating a new one.", run_id, exc)
            return False
        if status.state.is_terminal and status.state not in (RunState.SUCCEEDED, RunState.PARTIAL):
            self.log.info("Earlier run %s ended as %s; creating a new one.", run_id, status.state.value)
            self._not_reattachable(run_id)
            return False
        return True

    def wait(
        self, context: Any, run_id: str, *, reattached: bool = False, deadline: float | None = None
    ) -> Any:
        """Wait for the run (deferred or here) and return :meth:`handle_status`'s manifest.

        The wait ends at this try's deadline (:meth:`try_deadline`: fixed at the first wait, so a
        resumed run keeps the clock), or at ``deadline`` when given.
        """
        if not self.wait_for_completion:
            return self.secret_free(self.build_manifest(context, run_id, None))
        if deadline is not None:
            self.keep_deadline(deadline)
        deadline = self.try_deadline()
        if self.deferrable:
            self.defer(
                trigger=self.make_trigger(run_id, deadline),
                method_name="execute_complete",
                kwargs={"reattached": reattached, "deadline": deadline, "wait_state": dict(self.wait_state)},
                timeout=defer_timeout(deadline),
            )
        event = self.poll_until_done(run_id, deadline)
        return self.complete(context, event, reattached=reattached)

    def execute_complete(
        self,
        context: Any,
        event: Mapping[str, Any] | None = None,
        reattached: bool = False,
        deadline: float | None = None,
        wait_state: dict[str, Any] | None = None,
    ) -> Any:
        """Resume after the trigger's event; ``deadline`` (this try's) and ``wait_state`` (small
        counters) come back from the deferral."""
        self.wait_state = dict(wait_state or {})
        self.keep_deadline(deadline)
        with fail_without_retry():
            return self.complete(context, event, reattached=reattached)

    def complete(
        self,
        context: Any,
        event: Mapping[str, Any] | None,
        *,
        reattached: bool = False,
        deadline: float | None = None,
    ) -> Any:
        """Map a wait event (from the trigger or the worker loop) to the task outcome;
        ``deadline``: this try's, when the task was resumed without it."""
        if deadline is not None:
            self.keep_deadline(deadline)
        run_id, status = self.status_from_event(event)
        if status.state is RunState.CANCELLED and reattached and self.wait_for_completion:
            # A user clear starts the new try ~1 s before the old trigger's on_kill cancels the
            # run this try reattached to: that cancel was not meant for the new try.
            self.log.warning(
                "Reattached run %s was cancelled (by the previous try's kill); creating a new run.", run_id
            )
            self._not_reattachable(run_id)  # a look-up after an ambiguous create must not adopt it
            new_run_id, _ = self.reattach_or_submit(context, force_new=True)
            return self.wait(context, new_run_id, reattached=False)
        result = self.finish(context, run_id, status)
        mark_completed(context, run_id)
        return result

    def lineage_datasets(self) -> tuple[list[str], list[str]]:
        """The paths and URLs the task read and wrote, as ``(inputs, outputs)``, for OpenLineage;
        asked once the task ended (:meth:`get_openlineage_facets_on_complete`). Default: none."""
        return [], []

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Answer OpenLineage (when its provider is installed; asked in the worker once the task
        ended): :meth:`lineage_datasets` as datasets and the remote run as run facets (see
        :mod:`airflow_provider_runs.lineage`). Never raises; OpenLineage is imported only here.

        :param task_instance: the task instance that ended (the operator knows its run).
        """
        from airflow_provider_runs.lineage import operator_lineage

        return operator_lineage(self)

    def on_kill(self) -> None:
        """Cancel the remote run when the worker-side task is killed and ``cancel_on_kill``."""
        if not self._run_id:
            return
        if not self.cancel_on_kill or not self.hook.supports_cancel:
            self.log.info("Task killed; run %s keeps going: %s", self._run_id, self.run_url(self._run_id))
            return
        self.log.info("Task killed: cancelling run %s.", self._run_id)
        try:
            self.hook.cancel_run(self._run_id)
        except RunsApiError as exc:
            self.log.warning("Cancelling run %s failed: %s", self._run_id, exc)


def _try_number(context: Any) -> int:
    ti = context.get("ti") if hasattr(context, "get") else None
    try:
        return int(getattr(ti, "try_number", 1) or 1)
    except (TypeError, ValueError):
        return 1
