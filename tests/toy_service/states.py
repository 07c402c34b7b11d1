"""The toy service's state table: its job phases mapped to the provider's states."""

from __future__ import annotations

from typing import Any

from airflow_provider_runs.core.states import RunState, RunStatus

PHASES: dict[str, RunState] = {
    "waiting": RunState.QUEUED,
    "busy": RunState.RUNNING,
    "finished": RunState.SUCCEEDED,
    "crashed": RunState.FAILED,
    "halted": RunState.CANCELLED,
}
"""Every phase the toy API documents."""


def interpret_job(job: dict[str, Any]) -> RunStatus:
    """A job object's status (an unknown phase keeps the wait going, as the design says)."""
    phase = job.get("phase")
    state = PHASES.get(phase, RunState.UNKNOWN) if isinstance(phase, str) else RunState.UNKNOWN
    return RunStatus(state, phase, job.get("error") or None, {"queue": job.get("queue")})
