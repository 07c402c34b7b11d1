"""Inferable's state table and error bodies: pure functions, no I/O (``specs/inferable.md``).

The state table is :func:`interpret_status`: ``pending`` -> QUEUED, ``running`` -> RUNNING,
``paused`` -> RUNNING (a run pauses on every ordinary tool call) or NEEDS_ACTION with
:attr:`~airflow_provider_runs.core.states.ActionNeeded.APPROVAL` when a job of the run has a
requested, unanswered approval, ``done`` -> SUCCEEDED, ``failed`` -> FAILED.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_runs.core.states import ActionNeeded, RunState, RunStatus

RUN_STATES: dict[str, RunState] = {
    "pending": RunState.QUEUED,
    "running": RunState.RUNNING,
    "paused": RunState.RUNNING,
    "done": RunState.SUCCEEDED,
    "failed": RunState.FAILED,
}
"""Inferable run statuses; ``paused`` becomes NEEDS_ACTION only with a pending approval."""

LISTED_WAITING = frozenset({"pending", "running"})
"""Run statuses a run listing answers for on its own (they need neither a result nor an approval)."""

VALIDATION_PARTS = ("bodyErrors", "queryParameterErrors", "pathParameterErrors", "headerErrors")
"""The members of Inferable's request-validation error body, one per part of the request."""


def interpret_status(
    status: Any, *, failure_reason: str | None = None, approval: Mapping[str, Any] | None = None
) -> RunStatus:
    """Map an Inferable run status (plus a pending approval, if any) to a :class:`RunStatus`.

    :param status: the run's ``status`` as the server sent it.
    :param failure_reason: the run's ``failureReason``, the message of a failed run.
    :param approval: the run's pending approval (:func:`approval_of` a job), if any: a
        ``paused`` run with one is ``NEEDS_ACTION`` for an ``APPROVAL``.
    """
    if not isinstance(status, str):
        return RunStatus(RunState.UNKNOWN, status, f"unrecognized status value {status!r}")
    if status == "paused" and approval:
        return RunStatus(
            RunState.NEEDS_ACTION,
            status,
            f"waiting for an approval of tool call {approval.get('targetFn')!r} (job {approval.get('id')})",
            {
                "job_id": approval.get("id"),
                "tool": approval.get("targetFn"),
                "tool_input": approval.get("input"),
            },
            action=ActionNeeded.APPROVAL,
        )
    return RunStatus(RUN_STATES.get(status, RunState.UNKNOWN), status, failure_reason or None)


def awaits_approval(job: Any) -> bool:
    """Whether a job (``GET /clusters/{c}/jobs/{j}``) has a requested, unanswered approval."""
    return isinstance(job, dict) and job.get("approvalRequested") is True and job.get("approved") is None


def approval_of(job: Mapping[str, Any]) -> dict[str, Any]:
    """The approval a job waits for: ``{"id", "targetFn", "input"}``, the tool input decoded
    (Inferable sends it as JSON text, a scalar wrapped as ``{"value": ...}``)."""
    args = job.get("targetArgs")
    if isinstance(args, str):
        with contextlib.suppress(ValueError):
            args = json.loads(args)
    if isinstance(args, dict) and set(args) == {"value"}:
        args = args["value"]
    return {"id": job.get("id"), "targetFn": job.get("targetFn"), "input": args}


def approval_job_ids(events: Any) -> list[str]:
    """The job ids of ``approvalRequested`` events (a ``GET /clusters/{c}/events`` body), each
    once, in the order given; anything that is not an event with a job id is passed over."""
    return _unique(e.get("jobId") for e in events or () if isinstance(e, dict))


def parse_error_body(status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
    """Read Inferable's three error shapes (handler, validation, plain message) or the text.

    :param status_code: the HTTP status code.
    :param body: the decoded JSON body, if any.
    :param text: the body as text.
    :return: ``(message, code)``; the code is ``validation_error``, ``not_found`` or ``None``.
    """
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"]), None
        issues = [
            issue
            for part in (body.get(k) for k in VALIDATION_PARTS)
            if isinstance(part, dict)
            for issue in part.get("issues") or []
        ]
        if issues:
            return "; ".join(_issue_text(issue) for issue in issues), "validation_error"
        if body.get("message"):
            return _message_text(body), None
    if status_code == 404 and not (text or "").strip():
        return "not found", "not_found"
    snippet = (text or "").strip()
    return (snippet[:500] or None), None


def _issue_text(issue: Mapping[str, Any]) -> str:
    """One validation issue as ``path: message`` (just the message when it has no path)."""
    path = ".".join(str(p) for p in issue.get("path") or [])
    return f"{path}: {issue.get('message')}" if path else str(issue.get("message"))


def _message_text(body: Mapping[str, Any]) -> str:
    """A plain ``message`` body, with its ``errors`` list (``path: error``) appended."""
    message = str(body["message"])
    extra = body.get("errors")
    if isinstance(extra, list) and extra:
        message += ": " + "; ".join(
            f"{e.get('path')}: {e.get('error')}" for e in extra if isinstance(e, dict)
        )
    return message


def _unique(values: Iterable[Any]) -> list[Any]:
    """The truthy ``values``, each once, in their first order."""
    seen: list[Any] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen
