"""The base of the day-two operators: one action on a remote object that already exists (cancel a
task, end a session, answer an approval, send a message), optionally followed by a wait.

:class:`BaseActionOperator` checks the arguments before any HTTP call (an
:class:`~airflow_provider_runs.validation.InvalidArgumentError` naming the argument, no retry),
runs :meth:`BaseActionOperator.act` (which publishes the run link and returns a small manifest),
then, with ``wait_for_completion``, waits for the run's next terminal or paused state with the
shared machinery (:class:`~airflow_provider_runs.waiting.task_wait.RunWaitMixin`: the generic
trigger when deferrable, the same rules in the worker otherwise). An action never creates a
run and never cancels one on kill: the run is not the task's own.

Idempotent on retry: each action first reads what it would change and does nothing when the
change already took effect (a log line says so); see each operator.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.links import RUN_ID_XCOM_KEY, RunLink, publish_run_url
from airflow_provider_runs.validation import fail_without_retry, invalid_arguments
from airflow_provider_runs.waiting.arguments import WaitArgumentsMixin
from airflow_provider_runs.waiting.deadline import defer_timeout
from airflow_provider_runs.waiting.task_wait import RunWaitMixin

ACTION_XCOM_KEY = "runs_action"
"""XCom key of the action's manifest while the task waits after it (read back on resume)."""


class BaseActionOperator(RunWaitMixin, WaitArgumentsMixin, BaseOperator):
    """Act on an existing remote run (or session), then optionally wait for the run.

    :param wait_for_completion: after the action, wait for the run's next terminal state (or a
        pause the operator stops on); default ``False``: the task ends with the action.
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between status polls while waiting.
    :param timeout: the longest wait (seconds or ``timedelta``); ``None`` waits forever.
    :param max_consecutive_failures: transient polling failures in a row before the task fails.
    """

    operator_extra_links = (RunLink(),)
    ui_color = "#fdf3e8"

    def __init__(
        self,
        *,
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: timedelta | float | None = None,
        timeout: timedelta | float | None = None,
        max_consecutive_failures: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.poll_interval, self.timeout = self.check_wait_arguments(
            poll_interval, timeout, max_consecutive_failures
        )
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.max_consecutive_failures = max_consecutive_failures
        self.cancel_on_kill = False

    # -- what a subclass writes ------------------------------------------------------------
    def validate_arguments(self) -> None:
        """Check the rendered arguments before any HTTP call; raise ``ValueError`` naming one."""

    def act(self, context: Any) -> dict[str, Any]:
        """Do the action (idempotently) and return the manifest (``run_id`` names the run to wait
        for, when there is one)."""
        raise NotImplementedError

    # -- the flow ----------------------------------------------------------------------------
    def execute(self, context: Any) -> Any:
        """Check the arguments, act, then wait when asked. Bad arguments, 401/403 and
        400/413/422 answers fail the task without retrying."""
        with fail_without_retry():
            with invalid_arguments():
                self.validate_arguments()
            manifest = self.act(context)
            run_id = manifest.get("run_id")
            if not self.wait_for_completion or not run_id:
                self.succeeded(context)
                return self.secret_free(manifest)
            return self.wait_after(context, str(run_id), manifest)

    def succeeded(self, context: Any) -> None:
        """Called once the task succeeded (after the wait, if any). Default: nothing."""

    def is_stale(self, run_id: str, status: RunStatus, manifest: Mapping[str, Any]) -> bool:
        """Whether a final ``status`` predates the action (the run has not taken it up yet):
        then the wait goes on. Default: never."""
        return False

    def publish_link(self, context: Any, run_id: str | None, url: str | None = None) -> None:
        """Push the run id (XCom ``run_id``) and the run's page (the "Run" link) of the run acted on.

        :param context: the task context.
        :param run_id: the run (``None``: only ``url``).
        :param url: the page (default: the run's URL).
        """
        if run_id:
            self._run_id = run_id
            context["ti"].xcom_push(key=RUN_ID_XCOM_KEY, value=run_id)
        page = url or (self.run_url(run_id) if run_id else None)
        if page:
            publish_run_url(self, context, page)

    def wait_after(self, context: Any, run_id: str, manifest: dict[str, Any]) -> Any:
        """Wait for ``run_id`` (deferred or here) until this try's deadline, then
        :meth:`after_wait`."""
        deadline = self.try_deadline()
        if self.deferrable:
            # also in XCom: dag.test() resumes a task with the trigger's event alone (the real
            # scheduler adds the event to the kwargs), and XComs survive a deferral
            context["ti"].xcom_push(key=ACTION_XCOM_KEY, value=self.secret_free(manifest))
            self.defer(
                trigger=self.make_trigger(run_id, deadline),
                method_name="execute_complete",
                kwargs={"manifest": manifest, "deadline": deadline},
                timeout=defer_timeout(deadline),
            )
        event = self.poll_until_done(run_id, deadline)
        return self._complete(context, event, manifest)

    def execute_complete(
        self,
        context: Any,
        event: Mapping[str, Any] | None = None,
        manifest: dict[str, Any] | None = None,
        deadline: float | None = None,
    ) -> Any:
        """Resume after the trigger's event (``manifest``: the action's; ``deadline``: this try's)."""
        self.keep_deadline(deadline)
        if manifest is None:
            manifest = self._pushed_manifest(context)
        with fail_without_retry():
            return self._complete(context, event, dict(manifest or {}))

    def _pushed_manifest(self, context: Any) -> dict[str, Any] | None:
        """The manifest :meth:`wait_after` pushed before deferring (``None``: none readable)."""
        ti = context["ti"]
        pull = getattr(ti, "xcom_pull", None)
        if pull is None:
            return None
        value = pull(task_ids=ti.task_id, key=ACTION_XCOM_KEY, map_indexes=ti.map_index)
        return value if isinstance(value, dict) else None

    def _complete(self, context: Any, event: Mapping[str, Any] | None, manifest: dict[str, Any]) -> Any:
        run_id, status = self.status_from_event(event)
        if self.is_stale(run_id, status, manifest):
            self.log.info(
                "Run %s still shows %s from before the action; waiting again.", run_id, status.raw_status
            )
            time.sleep(self.poll_interval)
            return self.wait_after(context, run_id, manifest)
        self.__dict__["_action_manifest"] = manifest
        result = self.finish(context, run_id, status)
        self.succeeded(context)
        return result

    def handle_status(self, context: Any, run_id: str, status: RunStatus) -> dict[str, Any] | None:
        """The action's manifest with the run's final ``state`` and ``status``: a run that
        succeeded, or stopped on one of :meth:`stop_on_states`; anything else fails the task."""
        stopped = status.state is RunState.NEEDS_ACTION and status.action in self.stop_conditions()
        if status.state is not RunState.SUCCEEDED and not stopped:
            raise self.failure(run_id, status)
        manifest = dict(self.__dict__.get("_action_manifest") or {})
        manifest.update(self.waited_fields(run_id, status))
        return manifest

    def waited_fields(self, run_id: str, status: RunStatus) -> dict[str, Any]:
        """What the wait adds to the manifest: ``{"state", "status"}`` of the run."""
        return {"state": status.state.value, "status": status.raw_status}
