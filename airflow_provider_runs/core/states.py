"""Normalized run states shared by every service.

Each service maps its own status vocabulary onto :class:`RunState` in its hook module (the
"state table"); everything downstream (trigger, operators, sensors) only sees
:class:`RunStatus`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class RunState(str, Enum):
    """A remote run's status, normalized across services."""

    QUEUED = "QUEUED"
    """Accepted, not started."""
    RUNNING = "RUNNING"
    """Working."""
    NEEDS_ACTION = "NEEDS_ACTION"
    """Paused, waiting for an approval or a resume."""
    SUCCEEDED = "SUCCEEDED"
    """Finished successfully."""
    PARTIAL = "PARTIAL"
    """Finished with some failures."""
    FAILED = "FAILED"
    """Failed, rejected or invalid."""
    CANCELLED = "CANCELLED"
    """Cancelled or stopped."""
    UNKNOWN = "UNKNOWN"
    """A status this version does not know: keep waiting, warn once."""

    @property
    def is_terminal(self) -> bool:
        """Whether the run will not change any more by itself."""
        return self in TERMINAL_STATES

    @property
    def is_success(self) -> bool:
        """Whether the state is an unconditional success (an allow-list of one)."""
        return self is RunState.SUCCEEDED


class ActionNeeded(str, Enum):
    """Why a run is :attr:`RunState.NEEDS_ACTION`: callers branch on this, never on raw statuses."""

    APPROVAL = "APPROVAL"
    """A step waits for a human's approval (Inferable's approval of a tool call)."""
    BLOCKED = "BLOCKED"
    """The service blocked the run until someone resolves the cause and resumes it (Edges)."""
    STOPPED = "STOPPED"
    """The run was stopped and can be resumed (Edges)."""
    OTHER = "OTHER"
    """Paused for a reason this version does not name."""


StopCondition = RunState | ActionNeeded
"""What ends a wait early besides a terminal state: a (non-terminal) state, or ``NEEDS_ACTION``
for one reason (:class:`ActionNeeded`)."""


def stop_condition(value: StopCondition | str) -> StopCondition:
    """Read a stop condition from its enum or its name (``"NEEDS_ACTION"``, ``"BLOCKED"``, ...);
    anything else is a ``ValueError`` (raw service statuses are not accepted: map them to a state).
    """
    if isinstance(value, RunState | ActionNeeded):
        return value
    name = str(value)
    if name in RunState.__members__:
        return RunState(name)
    if name in ActionNeeded.__members__:
        return ActionNeeded(name)
    raise ValueError(
        f"stop_on_states takes RunState or ActionNeeded names; got {value!r} "
        f"(states: {', '.join(RunState.__members__)}; actions: {', '.join(ActionNeeded.__members__)})"
    )


def ends_wait(status: RunStatus, stop_on: frozenset[StopCondition]) -> bool:
    """Whether ``status`` ends a wait: a terminal state, a listed state, or ``NEEDS_ACTION`` for a
    listed reason."""
    return (
        status.state.is_terminal
        or status.state in stop_on
        or (status.state is RunState.NEEDS_ACTION and (status.action or ActionNeeded.OTHER) in stop_on)
    )


PROGRESS = "progress"
"""The key of :attr:`RunStatus.details` under which a state table puts the service's progress
facts: a small dict of names to counts or short values (``{"outputs": 120}``); the task log shows
each change of them (:mod:`airflow_provider_runs.waiting.progress`)."""

TERMINAL_STATES = frozenset({RunState.SUCCEEDED, RunState.PARTIAL, RunState.FAILED, RunState.CANCELLED})
"""States after which a run does not change by itself."""


@dataclass(frozen=True)
class RunStatus:
    """One observation of a remote run.

    :param state: the normalized state.
    :param raw_status: the status exactly as the service sent it (int or string).
    :param message: a human-readable reason (error text, failure reason), if any.
    :param details: small, JSON-serializable service-specific facts (never a full result).
    :param action: why the run needs action (only with ``NEEDS_ACTION``).
    """

    state: RunState
    raw_status: str | int | None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    action: ActionNeeded | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable form, used in trigger events."""
        data = asdict(self)
        data["state"] = self.state.value
        data["action"] = self.action.value if self.action is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunStatus:
        """Rebuild a status from :meth:`to_dict` output."""
        return cls(
            state=RunState(data["state"]),
            raw_status=data.get("raw_status"),
            message=data.get("message"),
            details=dict(data.get("details") or {}),
            action=ActionNeeded(data["action"]) if data.get("action") in ActionNeeded.__members__ else None,
        )
