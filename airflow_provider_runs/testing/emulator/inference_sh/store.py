"""inference.sh tasks and sessions, with status computed from the emulator clock."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_runs.testing.emulator.inference_sh.apps import AppSpec

PHASES = ("received", "queued", "dispatched", "preparing", "serving", "setting_up", "running", "uploading")
TERMINAL = frozenset({"completed", "failed", "cancelled", "rejected"})
CURRENT_CODES = {
    "unknown": 0, "received": 1, "queued": 2, "dispatched": 3, "preparing": 4, "serving": 5,
    "setting_up": 6, "running": 7, "cancelling": 8, "uploading": 9, "completed": 10, "failed": 11,
    "cancelled": 12, "rejected": 13,
}  # fmt: skip
LEGACY_CODES = {
    "unknown": 0, "received": 1, "queued": 2, "dispatched": 3, "preparing": 4, "serving": 5,
    "setting_up": 6, "running": 7, "cancelling": 7, "uploading": 8, "completed": 9, "failed": 10,
    "cancelled": 11, "rejected": 10,
}  # fmt: skip
NAMES_BY_CURRENT = {v: k for k, v in CURRENT_CODES.items()}
CANCELLING_SECONDS = 0.2
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    """A unique, opaque id such as ``task_3f9a...``."""
    return f"{prefix}_{next(_ids):06d}{secrets.token_hex(4)}"


@dataclass
class Session:
    """A leased worker shared by consecutive calls."""

    id: str
    app: AppSpec
    idle_timeout: float
    created_at: float
    last_activity: float
    worker_id: str
    state: dict[str, Any] = field(default_factory=dict)
    call_count: int = 0
    ended_at: float | None = None
    task_id: str | None = None

    def status(self, now: float) -> str:
        """``active``, ``ended`` or ``expired``."""
        if self.ended_at is not None:
            return "ended"
        if now - self.last_activity > self.idle_timeout:
            return "expired"
        return "active"


@dataclass
class Task:
    """One task and its scripted life."""

    id: str
    app: AppSpec
    function: str
    input: dict[str, Any]
    created_at: float
    start_at: float
    duration: float
    outcome: str
    sequence: list[tuple[Any, float]]
    output: Any
    error: str
    request: dict[str, Any]
    session_id: str | None = None
    cancelled_at: float | None = None
    webhook: str | None = None
    webhook_done: bool = False
    deleted: bool = False
    log_lines: list[str] = field(default_factory=list)
    """The app's own output lines (scenario ``log_lines``), at the start of its run log."""

    def timeline(self) -> list[tuple[float, Any]]:
        """``[(from_time, status)]`` of the task's scripted life (before any cancel)."""
        if self.outcome == "rejected":
            return [(self.created_at, "rejected")]
        points: list[tuple[float, Any]] = [(self.created_at, "received")]
        if self.start_at > self.created_at:
            points.append((self.created_at + 0.001, "queued"))
        t = self.start_at
        if self.sequence:
            for status, seconds in self.sequence:
                points.append((t, status))
                t += max(0.0, float(seconds))
        else:
            step = self.duration / len(PHASES)
            for name in PHASES:
                points.append((t, name))
                t += step
        if self.outcome != "stuck":
            points.append((t, self.outcome))
        deduped = [points[0]]
        for point in points[1:]:
            if point[1] != deduped[-1][1]:
                deduped.append(point)
        return deduped

    def status_at(self, now: float) -> tuple[Any, float]:
        """The status at emulator time ``now`` and when it began."""
        current: tuple[Any, float] = ("received", self.created_at)
        for at, status in self.timeline():
            if at <= now:
                current = (status, at)
        if self.cancelled_at is not None and current[0] not in TERMINAL:
            if now >= self.cancelled_at + CANCELLING_SECONDS:
                return "cancelled", self.cancelled_at + CANCELLING_SECONDS
            if now >= self.cancelled_at:
                return "cancelling", self.cancelled_at
        return current

    def events(self, now: float) -> list[tuple[float, Any]]:
        """Every transition up to ``now``."""
        seen = [(at, s) for at, s in self.timeline() if at <= now]
        if self.cancelled_at is not None:
            seen = [(at, s) for at, s in seen if at < self.cancelled_at and s not in TERMINAL]
            if now >= self.cancelled_at:
                seen.append((self.cancelled_at, "cancelling"))
            if now >= self.cancelled_at + CANCELLING_SECONDS:
                seen.append((self.cancelled_at + CANCELLING_SECONDS, "cancelled"))
        return seen

    def is_terminal(self, now: float) -> bool:
        """Whether the task has ended."""
        return self.status_at(now)[0] in TERMINAL
