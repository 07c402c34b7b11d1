"""Resume or continue an Edges run from a DAG, once, then wait for it.

- ``resume`` (``POST /runs/{uid}/resume``): a ``BLOCKED`` or ``STOPPED`` run goes on where it
  stopped (``specs/edges.md`` §2.8).
- ``continue`` (``POST /runs/{uid}/continue``): an incremental run (``parameters.sync_mode:
  "incremental"``) in ``BLOCKED|STOPPED|FAILED|PARTIAL_SUCCEEDED|SUCCEEDED`` fetches its next
  items under the same uid (§2.9).

Neither call has an idempotency key, so the operator keeps a note in the task state store
(Airflow 3.3+, :data:`NOTE_KEY`): the run's status and ``updated_at`` before the call, written
before the call is sent, then marked ``sent``. A retry that finds the note ``sent`` sends
nothing; one that finds only the intent compares the run with it (a changed status or
``updated_at`` means the first call landed) and sends again only when nothing changed. The note
is marked ``done`` when the task succeeds: a user clearing the task afterwards asks for a new
resume or continue. Without a store (Airflow < 3.3) a retry reads the run's status: a run going
again (``SCHEDULED``, ``QUEUED``, ``RUNNING``...) gets nothing; a continued run that already ended
again before the retry would be continued once more (documented limit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, ClassVar, Literal

from airflow.providers.common.compat.sdk import AirflowSkipException

from airflow_provider_runs.core.errors import AmbiguousWriteError, ConflictError
from airflow_provider_runs.core.states import RunState, RunStatus, StopCondition
from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.operators.base import BaseRunOperator
from airflow_provider_runs.operators.edges_arguments import PAUSE_ACTIONS, read_needs_action
from airflow_provider_runs.validation import check_path_segment, fail_without_retry, service_time
from airflow_provider_runs.waiting.errors import RunFailedNoRetryError
from airflow_provider_runs.waiting.run_record import task_state_store, utcnow_iso

NOTE_KEY = "airflow_provider_runs.edges_run_action"
"""Task state store key of the note of a resume or continue."""
ALLOWED = {
    "resume": ("BLOCKED", "STOPPED"),
    "continue": ("BLOCKED", "STOPPED", "FAILED", "PARTIAL_SUCCEEDED", "SUCCEEDED"),
}
"""The run statuses each operation applies to (spec §2.8, §2.9)."""
GOING = ("CREATED", "QUEUED", "SCHEDULED", "RUNNING")
"""Statuses of a run that is going: there is nothing to resume or continue."""
Operation = Literal["resume", "continue"]


def changed(run: Mapping[str, Any], before: Mapping[str, Any]) -> bool:
    """Whether the run moved since ``before`` (its status or ``updated_at``, compared as times)."""
    if run.get("status") != before.get("status"):
        return True
    now = service_time(run, "updated_at", service="Edges")
    then = service_time(before, "updated_at", service="Edges")
    if now is None or then is None:
        return run.get("updated_at") != before.get("updated_at")
    return now != then


class EdgesRunActionOperator(BaseRunOperator):
    """Resume or continue an Edges run once, then (by default) wait for it to end.

    Idempotent on retry: see the module docstring. A run that is already going again needs no
    call (a warning says so); a run in a status the operation does not apply to (e.g. resuming a
    ``FAILED`` run) fails the task without retrying. The wait maps the run's end as
    :class:`~airflow_provider_runs.sensors.edges.EdgesRunSensor` does.

    :param run_uid: the run's uid. Templated.
    :param operation: ``resume`` (default) or ``continue``. Templated.
    :param edges_conn_id: the connection id (default ``edges_default``). Templated.
    :param partial_success: on ``PARTIAL_SUCCEEDED``: ``"fail"`` (default), ``"succeed"`` or ``"skip"``.
    :param on_needs_action: a run ``BLOCKED``/``STOPPED`` again: ``"fail"`` (default) or
        ``"wait"``; one policy for both or one each (``{"BLOCKED": "fail", "STOPPED": "wait"}``).

    The waiting arguments (``wait_for_completion``, ``deferrable``, ``poll_interval``,
    ``timeout``) are :class:`~airflow_provider_runs.operators.base.BaseRunOperator`'s.
    """

    hook_class: ClassVar[type[EdgesHook]] = EdgesHook
    conn_id_field = "edges_conn_id"
    template_fields: Sequence[str] = ("run_uid", "operation", "edges_conn_id")

    def __init__(
        self,
        *,
        run_uid: str,
        operation: Operation = "resume",
        edges_conn_id: str = EdgesHook.default_conn_name,
        partial_success: str = "fail",
        on_needs_action: str | Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if partial_success not in ("fail", "succeed", "skip"):
            raise ValueError(f"partial_success must be 'fail', 'succeed' or 'skip'; got {partial_success!r}")
        self.needs_action = read_needs_action(on_needs_action, allowed=("fail", "wait"))
        self.on_needs_action = {r.value: p for r, p in self.needs_action.items()}
        self.run_uid = run_uid
        self.operation = operation
        self.edges_conn_id = edges_conn_id
        self.partial_success = partial_success

    @cached_property
    def hook(self) -> EdgesHook:
        """The Edges hook."""
        return self.hook_class(self.conn_id, **self.hook_params())

    def validate_arguments(self) -> None:
        """A known operation and one run uid (a run group is refused)."""
        if self.operation not in ALLOWED:
            raise ValueError(f"operation must be resume or continue; got {self.operation!r}")
        if not isinstance(self.run_uid, str) or not self.run_uid.strip():
            raise ValueError(f"run_uid must be a non-empty string; got {self.run_uid!r}")
        if "," in self.run_uid:
            raise ValueError("run_uid must name one run, not a run group")
        check_path_segment(self.run_uid.strip(), "run_uid")

    def execute(self, context: Any) -> Any:
        """Resume or continue the run (once across retries), then wait for it."""
        with fail_without_retry():
            self.check_arguments()
            uid = self.run_uid.strip()
            sent = self.act_once(context, uid)
            self.wait_state = {"sent": sent}
            self._publish(context, uid)
            if not self.wait_for_completion:
                self._mark_done(context)
            return self.wait(context, uid)

    def complete(self, context: Any, event: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        """Map the wait's end; on success, close the note (a later clear acts again)."""
        result = super().complete(context, event, **kwargs)
        self._mark_done(context)
        return result

    # -- the one call ------------------------------------------------------------------------
    def act_once(self, context: Any, uid: str) -> bool:
        """Send the operation unless an earlier try's already took effect; whether this try sent it."""
        store = task_state_store(context)
        stored = store.get(NOTE_KEY) if store is not None else None
        note: dict[str, Any] = stored if isinstance(stored, dict) else {}
        mine = note.get("run_uid") == uid and note.get("operation") == self.operation
        run = self.hook.get_run(uid)
        if mine and not note.get("done"):
            if note.get("sent"):
                self.log.info(
                    "Try %s already sent %s to run %s: not sending it again.",
                    note.get("try"),
                    self.operation,
                    uid,
                )
                return False
            if changed(run, note.get("before") or {}):
                self.log.info(
                    "The %s an earlier try sent to run %s landed (run now %s).",
                    self.operation,
                    uid,
                    run.get("status"),
                )
                self._save(store, {**note, "sent": True})
                return False
        status = str(run.get("status"))
        if status not in ALLOWED[self.operation]:
            if status in GOING:
                self.log.warning("Run %s is %s: nothing to %s.", uid, status, self.operation)
                return False
            raise RunFailedNoRetryError(
                f"Edges run {uid} is {status}; {self.operation} applies to runs in "
                f"{', '.join(ALLOWED[self.operation])}. Run: {self.run_url(uid)}"
            )
        before = {"status": status, "updated_at": run.get("updated_at")}
        note = {
            "run_uid": uid,
            "operation": self.operation,
            "before": before,
            "at": utcnow_iso(),
            "try": getattr(context.get("ti"), "try_number", None),
            "sent": False,
        }
        self._save(store, note)
        call = self.hook.resume_run if self.operation == "resume" else self.hook.continue_run
        try:
            call(uid)
        except ConflictError as exc:
            again = self.hook.get_run(uid)
            if again.get("status") not in GOING:
                raise RunFailedNoRetryError(f"{exc}. Run: {self.run_url(uid)}") from exc
            self.log.warning("Run %s is already %s (another client acted first).", uid, again.get("status"))
            return False
        except AmbiguousWriteError:
            if not changed(self.hook.get_run(uid), before):
                raise
            self.log.warning("The %s call failed ambiguously but landed.", self.operation)
        self._save(store, {**note, "sent": True})
        self.log.info("Sent %s to run %s: %s", self.operation, uid, self.run_url(uid))
        return True

    @staticmethod
    def _save(store: Any, note: dict[str, Any]) -> None:
        if store is not None:
            store.set(NOTE_KEY, note)

    def _mark_done(self, context: Any) -> None:
        store = task_state_store(context)
        note = store.get(NOTE_KEY) if store is not None else None
        if isinstance(note, dict) and note.get("run_uid") == self.run_uid.strip():
            self._save(store, {**note, "done": True})

    def _sent(self, context: Any) -> bool:
        """Whether this try sent the operation: from the deferral's ``wait_state``, else (a
        resume that lost it, as ``dag.test()`` does) from the note of this try."""
        if "sent" in self.wait_state:
            return bool(self.wait_state["sent"])
        store = task_state_store(context)
        note = store.get(NOTE_KEY) if store is not None else None
        try_number = getattr(context.get("ti"), "try_number", None)
        return isinstance(note, dict) and bool(note.get("sent")) and note.get("try") == try_number

    # -- the outcome ---------------------------------------------------------------------------
    def stop_on_states(self) -> Sequence[StopCondition]:
        """A run BLOCKED/STOPPED again ends the wait unless its policy is ``"wait"``."""
        return [reason for reason in PAUSE_ACTIONS if self.needs_action[reason] != "wait"]

    def handle_status(self, context: Any, run_id: str, status: RunStatus) -> dict[str, Any] | None:
        """SUCCEEDED succeeds; PARTIAL_SUCCEEDED follows ``partial_success``; the rest fails."""
        if status.state is RunState.PARTIAL and self.partial_success != "fail":
            if self.partial_success == "skip":
                raise AirflowSkipException(f"Edges run {run_id} partially succeeded; skipping")
            return self.build_manifest(context, run_id, status)
        return super().handle_status(context, run_id, status)

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """The run's uid, status, output count and URL, the operation and whether this try sent it."""
        run = self.hook.get_run(run_id)
        return {
            "run_id": run_id,
            "run_uid": run_id,
            "operation": self.operation,
            "sent": self._sent(context),
            "status": run.get("status"),
            "output_count": run.get("output_count"),
            "url": self.run_url(run_id),
        }
