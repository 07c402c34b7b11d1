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


TERMINAL_STATES = frozenset({RunState.SUCCEEDED, RunState.PARTIAL, RunState.FAILED, RunState.CANCELLED})
"""States after which a run does not change by itself."""


@dataclass(frozen=True)
class RunStatus:
    """One observation of a remote run.

    :param state: the normalized state.
    :param raw_status: the status exactly as the service sent it (int or string).
    :param message: a human-readable reason (error text, failure reason), if any.
    :param details: small, JSON-serializable service-specific facts (never a full result).
    """

    state: RunState
    raw_status: str | int | None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable form, used in trigger events."""
        data = asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunStatus:
        """Rebuild a status from :meth:`to_dict` output."""
        return cls(
            state=RunState(data["state"]),
            raw_status=data.get("raw_status"),
            message=data.get("message"),
            details=dict(data.get("details") or {}),
        )
