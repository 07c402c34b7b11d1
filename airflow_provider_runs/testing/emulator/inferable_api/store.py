"""Inferable runs, jobs and events, with statuses computed from the emulator clock."""

from __future__ import annotations

import itertools
import json
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

_counter = itertools.count(1)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    """A 26-character, ULID-like id (uppercase Crockford base32)."""
    head = f"{next(_counter):010d}"
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return (head.translate(str.maketrans(string.digits, _ALPHABET[:10])) + tail)[:26]


@dataclass
class Job:
    """A tool call of a run."""

    id: str
    run_id: str
    target_fn: str
    args: Any
    created_at: float
    approval_requested: bool = False
    approved: bool | None = None
    decided_at: float | None = None
    cancelled_at: float | None = None
    done_at: float | None = None

    def status(self, now: float) -> tuple[str, str | None]:
        """``(status, resultType)``."""
        if self.cancelled_at is not None and self.cancelled_at <= now:
            return "success", "rejection"
        if self.approval_requested:
            if self.approved is None:
                return "interrupted", "interrupt"
            if self.approved is False:
                return "success", "rejection"
        if self.done_at is not None and self.done_at <= now:
            return "success", "resolution"
        return "pending", None


@dataclass
class Run:
    """One agent run and its scripted life."""

    id: str
    cluster: str
    created_at: float
    body: dict[str, Any]
    scenario: dict[str, Any]
    step: float
    user_id: str
    jobs: list[Job] = field(default_factory=list)
    approval_job: Job | None = None
    reopen_at: list[float] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None
    feedback: dict[str, Any] = field(default_factory=dict)
    notified: set[str] = field(default_factory=set)

    @property
    def prompt(self) -> str:
        """The initial prompt."""
        return self.body.get("initialPrompt") or ""

    @property
    def outcome(self) -> str:
        """How the run ends (the scenario's ``outcome``, ``done`` by default)."""
        return str(self.scenario.get("outcome", "done"))

    def timeline(self) -> list[tuple[float, str]]:
        """``[(from_time, status)]``."""
        t = self.created_at
        points = [(t, "pending")]
        if not self.prompt.strip() or self.outcome == "stuck_pending":
            return points
        t += self.step
        points.append((t, "running"))
        for _ in range(self.tool_calls):
            t += self.step
            points.append((t, "paused"))
            t += self.step
            points.append((t, "running"))
        end = self.outcome
        if self.approval_job is not None:
            t += self.step
            points.append((t, "paused"))
            job = self.approval_job
            if job.approved is None or job.decided_at is None:
                return points
            t = max(t, job.decided_at)
            if job.approved:
                t += self.step  # the tool runs again, now approved
            points.append((t, "running"))
            if not job.approved:
                end = str(self.scenario.get("after_denial", "done"))
        if end == "stuck":
            return points
        for _ in range(max(0, int(self.scenario.get("steps", 1)) - 1)):
            t += self.step
            points.append((t, "running"))
        t += self.step
        points.append((t, end))
        for reopened in self.reopen_at:
            if reopened >= t:
                points.append((reopened, "running"))
                points.append((reopened + self.step, "done"))
        return points

    @property
    def tool_calls(self) -> int:
        """How many ordinary tool calls the run makes."""
        default = 1 if self.body.get("tools") else 0
        return int(self.scenario.get("tool_calls", default))

    def status_at(self, now: float) -> tuple[str, float]:
        """The status at ``now`` and when it began."""
        current = ("pending", self.created_at)
        for at, status in self.timeline():
            if at <= now:
                current = (status, at)
        return current

    def approval_at(self) -> float | None:
        """When the approval interrupt happens (if the run has one)."""
        if not self.scenario.get("approval"):
            return None
        t = self.created_at + self.step * (2 + 2 * self.tool_calls)
        return t

    def failure_reason(self, now: float) -> str | None:
        """The run's ``failureReason`` at ``now``."""
        status, _ = self.status_at(now)
        if status == "pending":
            return None
        if status == "failed":
            return str(self.scenario.get("failure_reason") or "Detected cycle in Run.")
        return ""

    def targs(self) -> str:
        """The approval job's target arguments (JSON)."""
        approval = self.scenario.get("approval") or {}
        return json.dumps({"value": approval.get("input", {})})
