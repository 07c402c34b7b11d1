"""Edges runs and schedules, with statuses computed from the emulator clock."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_runs.testing.emulator.edges_api.actions import Action

_ids = itertools.count(1)
TERMINAL = ("INVALID", "FAILED", "PARTIAL_SUCCEEDED", "SUCCEEDED")
PAUSED = ("BLOCKED", "STOPPED")


def new_uid() -> str:
    """A new run, schedule or callback uid."""
    return str(uuid.uuid4())


@dataclass
class Run:
    """An action run and its scripted life.

    :param segments: ``[(from_time, status, postponed_until)]`` of its life so far, extended when it
        is resumed.
    """

    id: int
    uid: str
    action: Action
    mode: str
    name: str | None
    inputs: list[dict[str, Any]]
    parameters: dict[str, Any]
    callback: dict[str, Any] | None
    created_at: float
    scenario: dict[str, Any]
    input_seconds: float
    failed: dict[int, dict[str, Any]]
    scheduled_run_uid: str | None = None
    scheduled_run_name: str | None = None
    segments: list[tuple[float, str, float | None]] = field(default_factory=list)
    resumes: int = 0
    ok_indices: list[int] = field(default_factory=list)
    callbacks_done: set[str] = field(default_factory=set)
    identity_mode: str | None = None

    def plan(self, start: float, *, first: bool) -> None:
        """Script the run from ``start``: queue, (park), run, end (or pause per the scenario)."""
        sc = self.scenario
        if first:
            self.segments.append((start, "CREATED", None))
            if sc.get("final_status") == "INVALID":
                self.segments.append((start + 0.01, "INVALID", None))
                return
        t = start + (0.01 if first else 0.0)  # a resumed run is QUEUED at once
        self.segments.append((t, "QUEUED", None))
        if first and sc.get("postponed_seconds"):
            until = t + float(sc["postponed_seconds"])
            self.segments.append((t + 0.001, "QUEUED", until))
            t = until
        forced = sc.get("final_status")
        if sc.get("stuck") and forced in ("CREATED", "QUEUED", "SCHEDULED"):
            self.segments.append((t + 0.001, forced, None))
            return
        t += 0.05
        self.segments.append((t, "RUNNING", None))
        if sc.get("stuck"):
            return
        duration = float(sc.get("duration", len(self.inputs) * self.input_seconds))
        t += duration
        pause_again = sc.get("block_again") or first
        if sc.get("block_run") and pause_again:
            self.segments.append((t, "BLOCKED", None))
            return
        if sc.get("stop_run") and pause_again:
            self.segments.append((t, "STOPPED", None))
            return
        self.segments.append((t, self.final_status(), None))

    def final_status(self) -> str:
        """The status the run ends in: the scenario's, else by its failed inputs."""
        forced = self.scenario.get("final_status")
        if forced in TERMINAL:
            return forced
        if self.failed and len(self.failed) >= len(self.inputs):
            return "FAILED"
        if self.failed:
            return "PARTIAL_SUCCEEDED"
        return "SUCCEEDED"

    def status_at(self, now: float) -> tuple[str, float, float | None]:
        """``(status, since, postponed_until)`` at emulator time ``now``."""
        current = self.segments[0]
        for segment in self.segments:
            if segment[0] <= now:
                current = segment
        return current[1], current[0], current[2]

    def end_time(self) -> float | None:
        """When the run ended (``None`` while it has not)."""
        at, status, _ = self.segments[-1]
        return at if status in TERMINAL else None

    def input_status(self, index: int, now: float) -> str:
        """The status of one input at ``now``."""
        status, _, _ = self.status_at(now)
        if status in TERMINAL:
            if index in self.failed:
                return self.failed[index].get("_status", "FAILED")
            return "SUCCEEDED" if status != "INVALID" and status != "FAILED" else "FAILED"
        if status in PAUSED:
            return "BLOCKED" if status == "BLOCKED" else "STOPPED"
        if status == "RUNNING":
            return "RUNNING"
        return "QUEUED"


@dataclass
class Schedule:
    """A schedule of an action."""

    uid: str
    name: str | None
    action: Action
    inputs: list[dict[str, Any]]
    parameters: dict[str, Any]
    callback: dict[str, Any] | None
    cron: str | None
    timezone: str
    schedule_at: float | None
    created_at: float
    status: str = "ACTIVE"
    checked_until: float = 0.0
    last_executed_at: float | None = None
    last_run_uid: str | None = None
    next_execution_at: float | None = None
