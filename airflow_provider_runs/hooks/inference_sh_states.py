"""inference.sh's state table: status names and both status-code numberings (spec: ``specs/inference_sh.md``).

The service renumbered its status codes on 2026-01-10; both numberings are understood:

- a status **name** (a string ``status`` or a ``status_text`` field) always wins;
- otherwise the connection's ``status_numbering`` extra decides: ``current`` (10 completed,
  11 failed, 12 cancelled, 13 rejected), ``legacy`` (9 completed, 10 failed, 11 cancelled), or
  ``auto`` (the default), which is safe under both: 0-9 keep waiting (9 is "uploading" now),
  10 succeeds only when the task's ``error`` is empty, 11 fails (reported as cancelled when
  the task has no error text, as a legacy cancel has none), 12 is cancelled, 13 rejected.
  A task stuck at 9 until the deadline is reported as possibly completed under the legacy
  numbering, with a hint to set ``status_numbering="legacy"``.

The service never waits for a person, so no state here is ``NEEDS_ACTION``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from airflow_provider_runs.core.states import RunState, RunStatus

StatusNumbering = Literal["auto", "legacy", "current"]
STATUS_NUMBERINGS: tuple[str, ...] = ("auto", "legacy", "current")

NAME_TO_STATE: dict[str, RunState] = {
    "unknown": RunState.UNKNOWN,
    "received": RunState.QUEUED,
    "queued": RunState.QUEUED,
    "scheduled": RunState.QUEUED,
    "dispatched": RunState.QUEUED,
    "preparing": RunState.RUNNING,
    "serving": RunState.RUNNING,
    "setting_up": RunState.RUNNING,
    "running": RunState.RUNNING,
    "cancelling": RunState.RUNNING,
    "uploading": RunState.RUNNING,
    "completed": RunState.SUCCEEDED,
    "failed": RunState.FAILED,
    "cancelled": RunState.CANCELLED,
    "rejected": RunState.FAILED,
}
"""Status names (lowercase, as streams and list filters use them) to normalized states."""

CURRENT_CODES: dict[int, str] = {
    0: "unknown",
    1: "received",
    2: "queued",
    3: "dispatched",
    4: "preparing",
    5: "serving",
    6: "setting_up",
    7: "running",
    8: "cancelling",
    9: "uploading",
    10: "completed",
    11: "failed",
    12: "cancelled",
    13: "rejected",
}
"""The numbering in force since 2026-01-10."""

LEGACY_CODES: dict[int, str] = {
    0: "unknown",
    1: "received",
    2: "queued",
    3: "scheduled",
    4: "preparing",
    5: "serving",
    6: "setting_up",
    7: "running",
    8: "uploading",
    9: "completed",
    10: "failed",
    11: "cancelled",
}
"""The numbering up to 2026-01-10 (the original docs page)."""

TERMINAL_CANDIDATE_CODES = frozenset({9, 10, 11, 12, 13})
"""Codes that are terminal under at least one numbering: the full task is read to decide."""

_REJECTED = "the task was rejected at admission (balance or payment method)"


def check_numbering(value: Any, what: str = "status_numbering") -> StatusNumbering:
    """Return ``value`` if it is a status numbering; otherwise raise ``ValueError`` naming ``what``.

    :param value: the numbering to check.
    :param what: how the error names it (e.g. the connection extra).
    """
    if value not in STATUS_NUMBERINGS:
        raise ValueError(f"{what} must be one of {STATUS_NUMBERINGS}; got {value!r}")
    return value  # type: ignore[no-any-return]


def interpret_status(
    status: Any,
    *,
    error: str | None = None,
    status_text: str | None = None,
    numbering: StatusNumbering = "auto",
) -> RunStatus:
    """Map an inference.sh status to a :class:`RunStatus` (the state table).

    :param status: the ``status`` field: an int code or a lowercase name.
    :param error: the task's ``error`` text, when the full task was read.
    :param status_text: the ``status_text`` field, when the server sent one.
    :param numbering: how to read integer codes: ``auto``, ``legacy`` or ``current``.
    """
    message = error or None
    name = _status_name(status, status_text)
    if name is not None:
        state = NAME_TO_STATE.get(name, RunState.UNKNOWN)
        if name == "rejected" and not message:
            message = _REJECTED
        return RunStatus(state, status if status is not None else name, message, {"status_name": name})

    code = _as_int(status)
    if code is None:
        return RunStatus(RunState.UNKNOWN, status, f"unrecognized status value {status!r}")
    if numbering == "legacy" and code in LEGACY_CODES:
        name = LEGACY_CODES[code]
    elif numbering == "current" or code not in TERMINAL_CANDIDATE_CODES or code in (12, 13):
        name = CURRENT_CODES.get(code)
    elif code == 9:
        return RunStatus(
            RunState.RUNNING,
            code,
            None,
            {
                "status_name": "uploading",
                "note": "status 9 is 'uploading' now but 'completed' under the legacy numbering; "
                "if tasks stay at 9, set the connection's status_numbering to 'legacy'",
            },
        )
    elif code == 10:
        name = "failed" if error else "completed"
    else:  # 11 under auto: failed now, cancelled under the legacy numbering
        name = "failed" if error else "cancelled"
    if name is None:
        return RunStatus(RunState.UNKNOWN, code, f"unknown status code {code}")
    if name == "rejected" and not message:
        message = _REJECTED
    return RunStatus(NAME_TO_STATE[name], code, message, {"status_name": name})


def _status_name(status: Any, status_text: Any) -> str | None:
    """The status name a ``status_text``, or a ``status`` that is not a number, gives."""
    if isinstance(status_text, str) and status_text.strip():
        return status_text.strip().lower()
    if isinstance(status, str) and not status.strip().lstrip("-").isdigit():
        return status.strip().lower()
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def needs_full_task(status: Any, status_text: Any = None) -> bool:
    """Whether a light status may be terminal, so the full task must be read to decide."""
    if isinstance(status_text, str) and status_text:
        return NAME_TO_STATE.get(status_text.lower(), RunState.UNKNOWN).is_terminal
    if isinstance(status, str) and not status.strip().lstrip("-").isdigit():
        return NAME_TO_STATE.get(status.lower(), RunState.UNKNOWN).is_terminal
    code = _as_int(status)
    return code in TERMINAL_CANDIDATE_CODES


def status_from(
    light: Mapping[str, Any], task: Mapping[str, Any] | None, numbering: StatusNumbering
) -> RunStatus:
    """The status of a task from its light status and, when it was read, the full task.

    :param light: the light status ``{id, status, status_text?, updated_at}`` (or any task object).
    :param task: the full task (its ``error`` decides 10 and 11 under ``auto``), or ``None``.
    :param numbering: how to read integer codes.
    """
    source = task or light
    status = interpret_status(
        source.get("status"),
        error=(task or {}).get("error") or None,
        status_text=source.get("status_text"),
        numbering=numbering,
    )
    details = dict(status.details)
    if task is not None and task.get("session_id"):
        details["session_id"] = task["session_id"]
    return RunStatus(status.state, status.raw_status, status.message, details)


def listed_status(task: Mapping[str, Any], numbering: StatusNumbering) -> RunStatus | None:
    """A listed task's status, read as a poll reads the light status and then, when it may be
    terminal, the full task; ``None`` when that needs an ``error`` field the listed task lacks.

    :param task: a task object from ``POST /tasks/list``.
    :param numbering: how to read integer codes.
    """
    full = needs_full_task(task.get("status"), task.get("status_text"))
    if full and "error" not in task:
        return None
    return status_from(task, task if full else None, numbering)
