"""Edges' run state table: its ten run statuses as :class:`~airflow_provider_runs.core.states.RunStatus`.

``BLOCKED`` and ``STOPPED`` are both :attr:`RunState.NEEDS_ACTION`; the reason travels as
:attr:`RunStatus.action` (:attr:`ActionNeeded.BLOCKED` / :attr:`ActionNeeded.STOPPED`), so the
operator and the sensor never read the raw status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_runs.core.states import PROGRESS, ActionNeeded, RunState, RunStatus

RUN_STATES: dict[str, RunState] = {
    "CREATED": RunState.QUEUED,
    "QUEUED": RunState.QUEUED,
    "SCHEDULED": RunState.QUEUED,
    "RUNNING": RunState.RUNNING,
    "INVALID": RunState.FAILED,
    "BLOCKED": RunState.NEEDS_ACTION,
    "STOPPED": RunState.NEEDS_ACTION,
    "FAILED": RunState.FAILED,
    "PARTIAL_SUCCEEDED": RunState.PARTIAL,
    "SUCCEEDED": RunState.SUCCEEDED,
}
"""Run statuses (run object, status endpoint, list filter)."""

RUN_ACTIONS: dict[str, ActionNeeded] = {
    "BLOCKED": ActionNeeded.BLOCKED,
    "STOPPED": ActionNeeded.STOPPED,
}
"""Why a ``NEEDS_ACTION`` run waits, by its status (every ``NEEDS_ACTION`` status is here)."""

FAILED_INPUT_STATUSES = ("FAILED", "BLOCKED")
"""Per-input statuses (``GET /runs/{uid}/inputs``) reported as failed, with their errors."""

NEEDS_DETAILS = (RunState.NEEDS_ACTION, RunState.FAILED, RunState.PARTIAL)
"""States whose status carries the run's ``last_error`` (read from the full run object)."""


def interpret_status(
    status: Any, *, last_error: Any = None, postponed_until: Any = None, output_count: Any = None
) -> RunStatus:
    """Map an Edges run status to a :class:`RunStatus` (the run state table).

    :param status: the run's ``status`` as the service sent it.
    :param last_error: the run's ``last_error`` object (``label``, ``message``, ``params``), if any.
    :param postponed_until: when a postponed run goes on (also read from ``last_error.params``).
    :param output_count: the run object's ``output_count`` (the light status has none): once
        above 0, the run's progress (``details["progress"] = {"outputs": n}``).
    """
    if not isinstance(status, str):
        return RunStatus(RunState.UNKNOWN, status, f"unrecognized status value {status!r}")
    name = status.upper()
    state = RUN_STATES.get(name, RunState.UNKNOWN)
    message = None
    details: dict[str, Any] = {}
    if isinstance(last_error, dict) and last_error:
        label, text = last_error.get("label"), last_error.get("message")
        message = f"{label}: {text}" if label and text else (text or label)
        details["last_error"] = {"label": label, "message": text}
        params = last_error.get("params")
        if isinstance(params, dict) and params.get("postponed_until") and not postponed_until:
            postponed_until = params["postponed_until"]
    if postponed_until:
        details["postponed_until"] = str(postponed_until)
    if isinstance(output_count, int) and not isinstance(output_count, bool) and output_count > 0:
        details[PROGRESS] = {"outputs": output_count}
    return RunStatus(state, status, message, details, action=RUN_ACTIONS.get(name))


def status_of(run: Mapping[str, Any]) -> RunStatus:
    """The status of a run object or a light status object (``status``, ``last_error``,
    ``postponed_until``, ``output_count``)."""
    return interpret_status(
        run.get("status"),
        last_error=run.get("last_error"),
        postponed_until=run.get("postponed_until"),
        output_count=run.get("output_count"),
    )


def complete_status(run: Mapping[str, Any]) -> RunStatus | None:
    """The status of a status or run object; ``None`` when the state needs the run's
    ``last_error`` (:data:`NEEDS_DETAILS`) and the object does not carry it."""
    status = status_of(run)
    if status.state in NEEDS_DETAILS and "last_error" not in run:
        return None
    return status
