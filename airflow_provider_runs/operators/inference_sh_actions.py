"""inference.sh day-two actions: cancel a task, end a session (``specs/inference_sh.md`` §3.4, §5)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_runs.core.errors import GoneError, NotFoundError
from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.hooks.base import RunsHook
from airflow_provider_runs.hooks.inference_sh import InferenceShHook, StatusNumbering
from airflow_provider_runs.hooks.inference_sh_requests import session_segment
from airflow_provider_runs.hooks.inference_sh_states import check_numbering
from airflow_provider_runs.operators.actions import BaseActionOperator
from airflow_provider_runs.services import INFERENCE_SH
from airflow_provider_runs.validation import check_path_segment

CANCEL_TIMEOUT_MAX_MS = 3_600_000
"""The longest graceful stop the operator asks for (an hour, in milliseconds)."""
ENDED_SESSION = ("ended", "expired")
"""Session statuses that need no end call."""


class InferenceShActionMixin:
    """The connection and numbering arguments of the inference.sh action operators."""

    hook_class: ClassVar[type[RunsHook]] = InferenceShHook
    conn_id_field: ClassVar[str] = "inference_sh_conn_id"
    inference_sh_conn_id: str
    status_numbering: StatusNumbering | None

    @cached_property
    def hook(self) -> InferenceShHook:
        """The inference.sh hook."""
        return InferenceShHook(self.inference_sh_conn_id, **self.hook_params())

    def hook_params(self) -> dict[str, Any]:
        """Pass the numbering override to the hook (and the trigger)."""
        return {"status_numbering": self.status_numbering} if self.status_numbering else {}


class InferenceShCancelTaskOperator(InferenceShActionMixin, BaseActionOperator):
    """Cancel an inference.sh task (``POST /tasks/{id}/cancel``).

    The task is read first. A task already ``cancelling`` is not cancelled twice. A task that
    already ended is left alone and the task succeeds with a
    log line: already ``cancelled`` (e.g. a retry after the cancel took effect) reports
    ``"outcome": "already_cancelled"``; ``completed`` before the cancel reports
    ``"already_completed"`` (the task fails instead with ``fail_if_completed=True``); ``failed``
    or ``rejected`` report ``"already_ended"``. A task that ends between the read and the cancel
    (409) is read again and reported the same way. Returns ``{"run_id", "outcome", "cancelled",
    "state", "status", "url"}``.

    :param run_id: the inference.sh task id to cancel. Templated.
    :param inference_sh_conn_id: the connection id (default ``inference_sh_default``). Templated.
    :param force: kill the task at once instead of letting the app stop gracefully.
    :param graceful_timeout_ms: milliseconds the app gets to stop (the service's default: 10,000).
    :param fail_if_completed: fail the task when the task had already completed.
    :param status_numbering: overrides the connection's ``status_numbering``.
    :param wait_for_completion: after the cancel, wait until the task is final (``cancelled``
        succeeds; see :class:`~airflow_provider_runs.operators.actions.BaseActionOperator`).
    """

    template_fields: Sequence[str] = ("run_id", "inference_sh_conn_id")

    def __init__(
        self,
        *,
        run_id: str,
        inference_sh_conn_id: str = INFERENCE_SH.default_conn_id,
        force: bool = False,
        graceful_timeout_ms: int | None = None,
        fail_if_completed: bool = False,
        status_numbering: StatusNumbering | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if status_numbering is not None:
            check_numbering(status_numbering)
        if graceful_timeout_ms is not None and (
            isinstance(graceful_timeout_ms, bool)
            or not isinstance(graceful_timeout_ms, int)
            or not 0 <= graceful_timeout_ms <= CANCEL_TIMEOUT_MAX_MS
        ):
            raise ValueError(
                f"graceful_timeout_ms must be an integer from 0 to {CANCEL_TIMEOUT_MAX_MS}; "
                f"got {graceful_timeout_ms!r}"
            )
        self.run_id = run_id
        self.inference_sh_conn_id = inference_sh_conn_id
        self.force = force
        self.graceful_timeout_ms = graceful_timeout_ms
        self.fail_if_completed = fail_if_completed
        self.status_numbering = status_numbering

    def validate_arguments(self) -> None:
        """``run_id`` must be a task id."""
        check_path_segment(self.run_id, "run_id")
        check_path_segment(self.inference_sh_conn_id, "inference_sh_conn_id")

    def act(self, context: Any) -> dict[str, Any]:
        """Read the task; cancel it when it is still going."""
        run_id = self.run_id
        try:
            status = self.hook.get_status(run_id)
        except NotFoundError as exc:
            raise AirflowFailException(f"run_id {run_id!r}: no such inference.sh task ({exc})") from None
        self.publish_link(context, run_id)
        if status.state.is_terminal:
            return self._already_final(run_id, status)
        if status.details.get("status_name") == "cancelling":
            self.log.info("Task %s is already being cancelled (an earlier try or someone else).", run_id)
            return self._manifest(run_id, "already_cancelled", status)
        answer = self.hook.cancel_task(run_id, force=self.force, timeout_ms=self.graceful_timeout_ms)
        if answer.get("cancelled") is not True:  # 409: it ended meanwhile; the answer is the task
            return self._already_final(run_id, self.hook.task_status(answer))
        self.log.info("Cancelled inference.sh task %s: %s", run_id, self.run_url(run_id))
        return self._manifest(run_id, "cancelled", self.hook.get_status(run_id))

    def _already_final(self, run_id: str, status: RunStatus) -> dict[str, Any]:
        """The task ended before this cancel: report it (or fail, ``fail_if_completed``)."""
        if status.state is RunState.CANCELLED:
            self.log.info(
                "Task %s is already cancelled (an earlier try or someone else); nothing to do.", run_id
            )
            return self._manifest(run_id, "already_cancelled", status)
        if status.state is RunState.SUCCEEDED:
            text = f"Task {run_id} had already completed before the cancel; it was not cancelled"
            if self.fail_if_completed:
                raise AirflowFailException(f"{text} (fail_if_completed=True). Run: {self.run_url(run_id)}")
            self.log.warning("%s. Run: %s", text, self.run_url(run_id))
            return self._manifest(run_id, "already_completed", status)
        self.log.info("Task %s had already ended as %s; nothing to cancel.", run_id, status.raw_status)
        return self._manifest(run_id, "already_ended", status)

    def _manifest(self, run_id: str, outcome: str, status: RunStatus) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "outcome": outcome,
            "cancelled": outcome in ("cancelled", "already_cancelled"),
            "state": status.state.value,
            "status": status.details.get("status_name") or status.raw_status,
            "url": self.run_url(run_id),
        }

    def handle_status(self, context: Any, run_id: str, status: RunStatus) -> dict[str, Any] | None:
        """After a wait: a cancelled (or otherwise ended) task is what was asked for."""
        manifest = dict(self.__dict__.get("_action_manifest") or {})
        if status.state is RunState.SUCCEEDED and self.fail_if_completed:
            raise AirflowFailException(f"Task {run_id} completed before the cancel took effect")
        manifest.update(
            state=status.state.value,
            status=status.details.get("status_name") or status.raw_status,
            cancelled=status.state is RunState.CANCELLED,
        )
        return manifest

    def finish(self, context: Any, run_id: str, status: RunStatus) -> Any:
        """Every final state ends a cancel's wait as reported by :meth:`handle_status` (a
        ``CANCELLED`` task never skips or fails this task: it is the goal)."""
        manifest = self.handle_status(context, run_id, status)
        self.summarize(run_id, status, manifest)
        return self.secret_free(manifest)


class InferenceShEndSessionOperator(InferenceShActionMixin, BaseActionOperator):
    """End an inference.sh session and release its worker (``DELETE /sessions/{id}``).

    Idempotent: the session is read first; one already ``ended`` or ``expired`` (e.g. a retry
    after the end took effect) needs nothing and the task succeeds with a log line; a 410 from
    the end call means the same. An unknown session id (404) fails the task naming
    ``session_id``. Returns ``{"session_id", "outcome" ("ended" | "already_ended" |
    "already_expired"), "status", "call_count", "run_id", "url"}``; ``run_id`` and the link are the
    session's last task, when the service names it.

    :param session_id: the session id (``sess_...``), e.g.
        ``"{{ ti.xcom_pull(task_ids='open_session')['session_id'] }}"``. Templated.
    :param inference_sh_conn_id: the connection id (default ``inference_sh_default``). Templated.
    :param status_numbering: overrides the connection's ``status_numbering``.
    """

    template_fields: Sequence[str] = ("session_id", "inference_sh_conn_id")

    def __init__(
        self,
        *,
        session_id: str,
        inference_sh_conn_id: str = INFERENCE_SH.default_conn_id,
        status_numbering: StatusNumbering | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("wait_for_completion", False)
        super().__init__(**kwargs)
        if status_numbering is not None:
            check_numbering(status_numbering)
        self.session_id = session_id
        self.inference_sh_conn_id = inference_sh_conn_id
        self.status_numbering = status_numbering

    def validate_arguments(self) -> None:
        """``session_id`` must be a session id (not ``"new"``)."""
        session_segment(self.session_id)
        if self.session_id.strip() == "new":
            raise ValueError("session_id 'new' names no session: pass the id of the session to end")
        check_path_segment(self.inference_sh_conn_id, "inference_sh_conn_id")

    def act(self, context: Any) -> dict[str, Any]:
        """Read the session; end it when it is active."""
        session_id = self.session_id
        try:
            session = self.hook.get_session(session_id)
        except NotFoundError as exc:
            raise AirflowFailException(
                f"session_id {session_id!r}: no such inference.sh session ({exc})"
            ) from None
        status = str(session.get("status") or "")
        if status in ENDED_SESSION:
            self.log.info("Session %s is already %s; nothing to do.", session_id, status)
            return self._manifest(context, session, f"already_{status}")
        try:
            self.hook.end_session(session_id)
        except GoneError as exc:
            self.log.info("Session %s had already ended or expired (%s); nothing to do.", session_id, exc)
            return self._manifest(context, self.hook.get_session(session_id), "already_ended")
        self.log.info("Ended session %s (%s calls).", session_id, session.get("call_count"))
        return self._manifest(context, self.hook.get_session(session_id), "ended")

    def _manifest(self, context: Any, session: dict[str, Any], outcome: str) -> dict[str, Any]:
        task_id = session.get("task_id")
        run_id = str(task_id) if isinstance(task_id, str) and task_id else None
        self.publish_link(context, run_id)
        return {
            "session_id": self.session_id,
            "outcome": outcome,
            "status": session.get("status"),
            "call_count": session.get("call_count"),
            "run_id": run_id,
            "url": self.run_url(run_id) if run_id else None,
        }

    def execute(self, context: Any) -> Any:
        """End the session (never waits: a session is not a run)."""
        self.wait_for_completion = False
        return super().execute(context)
