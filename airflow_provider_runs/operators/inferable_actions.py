"""Inferable day-two actions: answer a run's pending approval (``specs/inferable.md`` §4), and what
the Inferable actions share. Sending a message is
:mod:`~airflow_provider_runs.operators.inferable_message` (importable from here too)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_runs.core.states import ActionNeeded, RunState, RunStatus, StopCondition
from airflow_provider_runs.operators.actions import BaseActionOperator
from airflow_provider_runs.operators.inferable import FAILED_GRACE, InferableTaskMixin
from airflow_provider_runs.services import INFERABLE
from airflow_provider_runs.validation import (
    check_path_segment,
    fail_without_retry,
    invalid_arguments,
)
from airflow_provider_runs.waiting.deadline import defer_timeout

DECISIONS = {"approve": True, "deny": False}
"""``decision`` values and what Inferable is sent (``{"approved": ...}``)."""


class InferableActionOperator(InferableTaskMixin, BaseActionOperator):
    """What the Inferable actions share: the run and connection arguments, the checks, and a
    wait that stops on the next pending approval as well as on the end of the run."""

    run_id: str
    on_needs_action = "fail"
    failed_grace = FAILED_GRACE
    """A ``failed`` run must stay so this long before a wait believes it (as the run operator)."""

    def stop_on_states(self) -> Sequence[StopCondition]:
        """The wait after the action also ends when the run waits for an approval."""
        return (ActionNeeded.APPROVAL,)

    def check_common(self) -> None:
        """``run_id``, ``inferable_conn_id`` and ``cluster_id`` are ids."""
        check_path_segment(self.run_id, "run_id")
        check_path_segment(self.inferable_conn_id, "inferable_conn_id")
        if self.cluster_id:
            check_path_segment(self.cluster_id, "cluster_id")

    def read_run(self) -> dict[str, Any]:
        """The run; a missing one fails the task naming ``run_id``."""
        run = self.hook.find_run(self.run_id)
        if run is None:
            raise AirflowFailException(f"run_id {self.run_id!r}: no such Inferable run in this cluster")
        return run

    def waited_fields(self, run_id: str, status: RunStatus) -> dict[str, Any]:
        """The run's final status, its result, and a pending approval it stopped on."""
        fields: dict[str, Any] = {"state": status.state.value, "status": status.raw_status}
        if status.action is ActionNeeded.APPROVAL:
            fields["pending_approval"] = {
                "job_id": status.details.get("job_id"),
                "tool": status.details.get("tool"),
            }
        elif status.state is RunState.SUCCEEDED:
            fields["result"] = self.hook.get_run(run_id).get("result")
        return fields


class InferableApprovalOperator(InferableActionOperator):
    """Approve or deny the pending approval of an Inferable run (``POST /clusters/{c}/jobs/{j}/approval``).

    The run's approvals are read first (its ``approvalRequested`` events, then each job). The
    pending one for ``tool`` (and ``job_id`` when given) is answered, then read again to check
    that this answer is the one that counted (Inferable keeps the first answer only).

    Idempotent on retry: when the approval was already answered the same way (an earlier try),
    the task succeeds without calling again; answered the other way, it fails. When the run
    has no approval for ``tool`` the task fails naming ``tool``: without retrying when another
    tool waits (a wrong name) or the run ended; with a retry when nothing waits yet. Returns
    ``{"run_id", "tool", "job_id", "decision", "approved", "outcome", "url"}`` (``outcome``:
    ``approved``, ``denied``, ``already_approved`` or ``already_denied``); with
    ``wait_for_completion`` also the run's next ``state``/``status`` (done, or paused on the next
    approval) and its ``result``.

    :param run_id: the Inferable run. Templated.
    :param tool: the tool whose call waits for the approval (the job's ``targetFn``). Templated.
    :param decision: ``"approve"`` (default) or ``"deny"``. Templated.
    :param job_id: the job to answer, when the run waits on several calls of the tool. Templated.
    :param inferable_conn_id: the connection id (default ``inferable_default``). Templated.
    :param cluster_id: overrides the connection's cluster id. Templated.
    :param wait_for_request: when no approval waits yet, first wait (in the triggerer when
        deferrable, with the same ``poll_interval`` and ``timeout``) until the run asks for one
        or ends, then answer. Default ``False``: answer what waits now.
    :param wait_for_completion: then wait for the run to end or pause on another approval.
    """

    template_fields: Sequence[str] = (
        "run_id",
        "tool",
        "decision",
        "job_id",
        "inferable_conn_id",
        "cluster_id",
    )

    def __init__(
        self,
        *,
        run_id: str,
        tool: str,
        decision: str = "approve",
        job_id: str | None = None,
        inferable_conn_id: str = INFERABLE.default_conn_id,
        cluster_id: str | None = None,
        wait_for_request: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.tool = tool
        self.wait_for_request = wait_for_request
        self.decision = decision
        self.job_id = job_id
        self.inferable_conn_id = inferable_conn_id
        self.cluster_id = cluster_id

    def validate_arguments(self) -> None:
        """The ids, a ``tool`` name and a ``decision`` of ``approve`` / ``deny``."""
        self.check_common()
        if not isinstance(self.tool, str) or not self.tool.strip():
            raise ValueError(f"tool must name the tool whose call waits for approval; got {self.tool!r}")
        if not isinstance(self.decision, str) or self.decision.strip().lower() not in DECISIONS:
            raise ValueError(f"decision must be 'approve' or 'deny'; got {self.decision!r}")
        if self.job_id:
            check_path_segment(self.job_id, "job_id")

    @property
    def approved(self) -> bool:
        """The answer sent: ``True`` to approve."""
        return DECISIONS[self.decision.strip().lower()]

    def execute(self, context: Any) -> Any:
        """With ``wait_for_request`` and nothing waiting yet, wait for the run to ask first."""
        if self.wait_for_request and not self.__dict__.get("_request_seen"):
            with fail_without_retry():
                with invalid_arguments():
                    self.validate_arguments()
                status = self.hook.get_status(self.run_id)
                if status.action is not ActionNeeded.APPROVAL and not status.state.is_terminal:
                    self.publish_link(context, self.run_id)
                    self.log.info("Run %s asks for no approval yet; waiting for it to.", self.run_id)
                    deadline = self.try_deadline()
                    if self.deferrable:
                        self.defer(
                            trigger=self.make_trigger(self.run_id, deadline),
                            method_name="after_request",
                            kwargs={"deadline": deadline},
                            timeout=defer_timeout(deadline),
                        )
                    return self.after_request(context, self.poll_until_done(self.run_id, deadline), deadline)
        return super().execute(context)

    def after_request(
        self, context: Any, event: Mapping[str, Any] | None = None, deadline: float | None = None
    ) -> Any:
        """The run asked for an approval (or ended): answer as :meth:`execute` does, within the
        same deadline (a following wait keeps the clock)."""
        self.keep_deadline(deadline)
        with fail_without_retry():
            self.status_from_event(event)  # a timeout or a polling failure fails the task here
        self.__dict__["_request_seen"] = True
        return self.execute(context)

    def act(self, context: Any) -> dict[str, Any]:
        """Find the pending approval of ``tool`` and answer it, once."""
        run = self.read_run()
        self.publish_link(context, self.run_id)
        tool = self.tool.strip()
        approvals = self.hook.run_approvals(self.run_id)
        mine = [a for a in approvals if a["tool"] == tool and (not self.job_id or a["job_id"] == self.job_id)]
        pending = [a for a in mine if a["approved"] is None]
        if not pending:
            return self._no_pending(run, approvals, mine)
        if len(pending) > 1:
            ids = ", ".join(str(a["job_id"]) for a in pending)
            raise AirflowFailException(
                f"Run {self.run_id} waits for {len(pending)} approvals of tool {tool!r} (jobs {ids}): "
                f"pass job_id to say which. Run: {self.run_url(self.run_id)}"
            )
        job_id = str(pending[0]["job_id"])
        self.hook.answer_approval(job_id, self.approved)
        answered = self.hook.get_job(job_id).get("approved")
        if answered is not None and answered is not self.approved:
            raise AirflowFailException(
                f"Job {job_id} of run {self.run_id} was answered {_word(answered)} by someone else first; "
                f"this task's {_word(self.approved)} did not count. Run: {self.run_url(self.run_id)}"
            )
        self.log.info("Sent %s of %s (job %s) to run %s.", _word(self.approved), tool, job_id, self.run_id)
        return self._manifest(job_id, _word(self.approved))

    def _no_pending(
        self, run: Mapping[str, Any], approvals: list[dict[str, Any]], mine: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """No approval of ``tool`` waits: already answered (a retry), or the failure naming ``tool``."""
        if mine:
            last = mine[-1]
            if last["approved"] is self.approved:
                self.log.info(
                    "Job %s (%s) of run %s is already %s (an earlier try or someone else); nothing to do.",
                    last["job_id"],
                    self.tool,
                    self.run_id,
                    _word(self.approved),
                )
                return self._manifest(str(last["job_id"]), f"already_{_word(self.approved)}")
            raise AirflowFailException(
                f"The approval of tool {self.tool!r} in run {self.run_id} (job {last['job_id']}) was "
                f"already answered {_word(last['approved'])}; not changed. Run: {self.run_url(self.run_id)}"
            )
        waiting = sorted({str(a["tool"]) for a in approvals if a["approved"] is None})
        text = (
            f"tool {self.tool!r}: run {self.run_id} has no pending approval for this tool"
            + (f" (job_id {self.job_id!r})" if self.job_id else "")
            + (f"; approvals wait for: {', '.join(waiting)}" if waiting else "")
            + f" (run status {run.get('status')!r}). Run: {self.run_url(self.run_id)}"
        )
        if waiting or run.get("status") in ("done", "failed"):
            raise AirflowFailException(text)
        raise AirflowException(text + ". Nothing waits yet: the task retries, if it has retries.")

    def _manifest(self, job_id: str, outcome: str) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "tool": self.tool.strip(),
            "job_id": job_id,
            "decision": self.decision.strip().lower(),
            "approved": self.approved,
            "outcome": outcome,
            "url": self.run_url(self.run_id),
        }


def _word(approved: Any) -> str:
    return "approved" if approved else "denied"


def __getattr__(name: str) -> Any:
    """``InferableSendMessageOperator`` (and its constants) importable from here too, lazily
    (:mod:`~airflow_provider_runs.operators.inferable_message` imports this module)."""
    if name in ("InferableSendMessageOperator", "MESSAGE_RECORD_KEY", "MAX_MESSAGE_CHARS"):
        from airflow_provider_runs.operators import inferable_message

        return getattr(inferable_message, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
