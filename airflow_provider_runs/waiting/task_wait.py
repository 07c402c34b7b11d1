"""What an operator and a sensor share to wait for a run: :class:`RunWaitMixin`.

The hook, the trigger, the worker-side wait, the task's deadline, the published run id and URL,
and the mapping from a final :class:`~airflow_provider_runs.core.states.RunStatus` (or a wait
event) to the task outcome. Success is an allow-list: only ``SUCCEEDED`` succeeds unless a
service's ``handle_status`` says otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_runs.core.http import call_with_deadline
from airflow_provider_runs.core.states import ActionNeeded, RunState, RunStatus, StopCondition, stop_condition
from airflow_provider_runs.hooks.base import RunsHook
from airflow_provider_runs.links import RUN_ID_XCOM_KEY, RUN_URL_XCOM_KEY
from airflow_provider_runs.waiting.deadline import wait_deadline
from airflow_provider_runs.waiting.errors import RunFailedError, RunFailedNoRetryError
from airflow_provider_runs.waiting.hold import hold_kwargs, read_holds
from airflow_provider_runs.waiting.progress import counts_of, log_tail, summary
from airflow_provider_runs.waiting.waiter import EVENT_STATUS, EVENT_TIMEOUT, RunWaiter

if TYPE_CHECKING:
    from airflow_provider_runs.triggers.run_status import RunStatusTrigger

ENDED_AS = {
    RunState.FAILED: "failed",
    RunState.CANCELLED: "was cancelled",
    RunState.PARTIAL: "finished with failures",
}
"""How a failure message says a run ended, by state."""
NEEDS_ACTION_AS = {
    ActionNeeded.APPROVAL: "is waiting for an approval",
    ActionNeeded.BLOCKED: "is BLOCKED (someone must resolve the cause and resume it)",
    ActionNeeded.STOPPED: "is STOPPED (it can be resumed)",
    ActionNeeded.OTHER: "is waiting for an action",
}
"""How a failure message says why a ``NEEDS_ACTION`` run stopped the wait, by :class:`ActionNeeded`."""
RUN_LOG_SECONDS = 15.0
"""The longest a failed run's own log is read for (then the task fails without quoting it)."""


class RunWaitMixin:
    """What operators and sensors share: the hook, the trigger, the worker-side wait and the
    mapping from a final :class:`RunStatus` to the task outcome (success is an allow-list)."""

    hook_class: ClassVar[type[RunsHook]]
    """The service's hook class."""
    conn_id_field: ClassVar[str]
    """Name of the connection argument (e.g. ``inference_sh_conn_id``)."""
    poll_interval: float
    cancel_on_kill: bool = False
    max_consecutive_failures: int
    on_cancelled: str = "fail"
    """What a ``CANCELLED`` run does to the task: ``"fail"`` (default) or ``"skip"``."""
    _run_id: str | None = None

    @property
    def conn_id(self) -> str:
        """The connection id argument's value."""
        return str(getattr(self, self.conn_id_field))

    @property
    def task_log(self) -> Any:
        """The task's logger (Airflow's ``log`` of the operator or sensor)."""
        return getattr(self, "log")  # noqa: B009 - the logger comes from Airflow's base class

    @cached_property
    def hook(self) -> RunsHook:
        """The service hook."""
        return self.hook_class(self.conn_id, **self.hook_params())

    def hook_params(self) -> dict[str, Any]:
        """Primitive extra keyword arguments for the hook (also sent to the trigger)."""
        return {}

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """The small XCom result of the task."""
        return {
            "run_id": run_id,
            "status": status.state.value if status else None,
            "url": self.run_url(run_id),
        }

    def stop_on_states(self) -> Sequence[StopCondition]:
        """Stop conditions besides a terminal state that end the wait so :meth:`handle_status` can
        act: a non-terminal ``RunState`` or an ``ActionNeeded`` reason of a ``NEEDS_ACTION`` run."""
        return ()

    def hold_states(self) -> dict[RunState, float]:
        """Grace seconds by state the service may take back (:mod:`~airflow_provider_runs.waiting.hold`):
        such a status ends the wait only once it has held that long. Default: none."""
        return {}

    def stop_conditions(self) -> tuple[StopCondition, ...]:
        """:meth:`stop_on_states`, checked (names are read with ``stop_condition``), in order."""
        return tuple(dict.fromkeys(stop_condition(s) for s in self.stop_on_states()))

    def handle_status(self, context: Any, run_id: str, status: RunStatus) -> dict[str, Any] | None:
        """Turn a final status into the task outcome; return the manifest, or raise.

        Success is an allow-list: only ``SUCCEEDED`` succeeds here; services with partial
        success or paused runs override this and call ``super()`` for the rest.
        """
        if status.state is RunState.SUCCEEDED:
            return self.build_manifest(context, run_id, status)
        raise self.failure(run_id, status)

    def finish(self, context: Any, run_id: str, status: RunStatus) -> Any:
        """:meth:`handle_status` of a final status, as the task's XCom result (secret-free).

        A run that ended gets one summary line in the task log (final state, how long the wait
        took, the result's counts), and a failed one the end of its own log where the service
        keeps one (:meth:`~airflow_provider_runs.hooks.base.RunsHook.run_log`)."""
        if not status.state.is_terminal:  # a pause the task acts on: the wait may go on
            return self.secret_free(self.handle_status(context, run_id, status))
        try:
            if status.state is RunState.CANCELLED and self.on_cancelled == "skip":
                raise self.skip(run_id, status)
            manifest = self.handle_status(context, run_id, status)
        except BaseException:
            self.summarize(run_id, status, None)
            raise
        self.summarize(run_id, status, manifest)
        return self.secret_free(manifest)

    def summarize(self, run_id: str, status: RunStatus, manifest: Any) -> None:
        """Log the summary of a wait that ended with ``status`` (``manifest``: the task's result,
        ``None`` when it failed), then the end of a failed run's own log."""
        text = summary(run_id, status, self._waited(), counts_of(manifest, status))
        self.task_log.info("%s", self.secret_free(text) if status.message else text)
        if status.state is RunState.FAILED:
            self.quote_run_log(run_id)

    def quote_run_log(self, run_id: str) -> None:
        """Put the end of a failed run's own log in the task log (bounded, redacted). Reading it
        never changes how the task fails: a log that cannot be read is only mentioned."""
        try:
            text = call_with_deadline(time.time() + RUN_LOG_SECONDS, self.hook.run_log, run_id)
        except Exception as exc:
            reason = self.hook.redactor(f"{type(exc).__name__}: {exc}")
            self.task_log.info("The log of run %s could not be read (%s).", run_id, reason[:300])
            return
        tail = log_tail(text or "", self.hook.redactor)
        if tail:
            self.task_log.info("The end of run %s's log:\n%s", run_id, tail)

    def _waited(self) -> float | None:
        """Seconds since the wait began (the final event's ``waited_since``), when known."""
        since = self.__dict__.get("_waited_since")
        return None if since is None else time.time() - since

    # -- shared machinery ------------------------------------------------------------------
    def secret_free(self, value: Any) -> Any:
        """``value`` (a task's XCom result) with the connection's key replaced by ``***``: a
        service that echoes its input must not carry a key rendered into it to XCom."""
        return self.hook.redactor.json(value)

    def run_url(self, run_id: str) -> str:
        """The run's URL."""
        return self.hook.run_url(run_id)

    def failure(self, run_id: str, status: RunStatus, what: str | None = None) -> RunFailedError:
        """Build the task failure for a run that did not succeed; ``what`` says how it ended
        (default: from its state, and for ``NEEDS_ACTION`` from ``status.action``)."""
        if what is None and status.state is RunState.NEEDS_ACTION:
            what = NEEDS_ACTION_AS[status.action or ActionNeeded.OTHER]
        what = what or ENDED_AS.get(status.state, f"ended as {status.state.value}")
        text = f"{self.hook_class.service} run {run_id} {what} (status {status.raw_status!r})"
        if status.message:
            text += f": {status.message}"
        return RunFailedError(f"{text}. Run: {self.run_url(run_id)}")

    def skip(self, run_id: str, status: RunStatus) -> BaseException:
        """The skip of a task whose run was cancelled, with ``on_cancelled="skip"``."""
        from airflow.providers.common.compat.sdk import AirflowSkipException

        text = f"{self.hook_class.service} run {run_id} was cancelled (status {status.raw_status!r})"
        if status.message:
            text += f": {status.message}"
        return AirflowSkipException(f"{text}; skipping (on_cancelled='skip'). Run: {self.run_url(run_id)}")

    def _publish(self, context: Any, run_id: str) -> None:
        """Push the run id and URL to XCom (the extra link reads the URL) before waiting."""
        self._run_id = run_id
        ti = context["ti"]
        ti.xcom_push(key=RUN_ID_XCOM_KEY, value=run_id)
        ti.xcom_push(key=RUN_URL_XCOM_KEY, value=self.run_url(run_id))

    # -- the deadline ------------------------------------------------------------------------
    def try_deadline(self) -> float | None:
        """This try's deadline (absolute UNIX time, ``None``: none): the task's ``timeout``
        measured from the first wait of this try (see :mod:`~airflow_provider_runs.waiting.deadline`);
        fixed at the first call, kept by :meth:`keep_deadline` across a deferral."""
        if "_try_deadline" not in self.__dict__:
            self.__dict__["_try_deadline"] = wait_deadline(getattr(self, "timeout", None))
        deadline: float | None = self.__dict__["_try_deadline"]
        return deadline

    def keep_deadline(self, deadline: float | None) -> None:
        """Carry this try's deadline into a task resumed after a deferral."""
        self.__dict__["_try_deadline"] = deadline

    # -- events ------------------------------------------------------------------------------
    def status_from_event(self, event: Mapping[str, Any] | None) -> tuple[str, RunStatus]:
        """Read a wait event; a timeout or a polling error fails the task with its message."""
        if not event or "run_id" not in event:
            raise RunFailedError(f"Waiting ended without a usable event: {event!r}")
        run_id = str(event["run_id"])
        self._run_id = run_id
        since = event.get("waited_since")
        self.__dict__["_waited_since"] = float(since) if isinstance(since, int | float) else None
        kind = event.get("event")
        if kind == EVENT_TIMEOUT:
            raise RunFailedError(self._with_url(str(event.get("message")), run_id, event))
        if kind != EVENT_STATUS or not event.get("status"):
            error = RunFailedNoRetryError if event.get("retryable") is False else RunFailedError
            raise error(self._with_url(str(event.get("message") or "Waiting failed"), run_id, event))
        return run_id, RunStatus.from_dict(event["status"])

    def _with_url(self, message: str, run_id: str, event: Mapping[str, Any]) -> str:
        """``message`` with the run's URL: the event's when it carries one, else the hook's."""
        url = event["run_url"] if "run_url" in event else self.run_url(run_id)
        return f"{message}. Run: {url}" if url else message

    # -- waiting -----------------------------------------------------------------------------
    def make_waiter(self, run_id: str, deadline: float | None, run_url: str | None) -> RunWaiter:
        """The waiting rules for ``run_id`` with this task's arguments."""
        return RunWaiter(
            run_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
            max_consecutive_failures=self.max_consecutive_failures,
            stop_on_states=self.stop_conditions(),
            run_url=run_url,
            log=self.task_log,
            hold=self.hold_states(),
        )

    def make_trigger(self, run_id: str, deadline: float | None) -> RunStatusTrigger:
        """The trigger that waits for ``run_id``."""
        from airflow_provider_runs.triggers.run_status import RunStatusTrigger  # it imports the waiter

        return RunStatusTrigger(
            service=self.hook_class.service,
            conn_id=self.conn_id,
            run_id=run_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
            cancel_on_kill=self.cancel_on_kill,
            max_consecutive_failures=self.max_consecutive_failures,
            stop_on_states=[c.value for c in self.stop_conditions()],
            hook_params=self.hook_params(),
            run_url=self.run_url(run_id),
            wait_started=time.time(),
            hold=hold_kwargs(read_holds(self.hold_states())),
        )

    def poll_until_done(self, run_id: str, deadline: float | None) -> dict[str, Any]:
        """The worker-side wait: the trigger's rules, with blocking sleeps."""
        waiter = self.make_waiter(run_id, deadline, self.run_url(run_id))
        while True:
            event = waiter.check_deadline()
            if event is not None:
                return event
            try:
                step = waiter.on_status(call_with_deadline(deadline, self.hook.get_status, run_id))
            except Exception as exc:
                step = waiter.on_error(exc)
            if step.event is not None:
                return step.event
            time.sleep(step.sleep)
