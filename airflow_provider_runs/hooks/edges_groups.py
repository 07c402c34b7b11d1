"""Edges run groups: a batch split into several runs, waited on as one run.

A group travels wherever a run id does (XCom, trigger kwargs, the task state store) as its
primitive form, the member uids joined by :data:`GROUP_SEPARATOR`; a single uid is a group of
one, so ids written before groups had a type read the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_runs.core.states import PROGRESS, RunState, RunStatus

GROUP_SEPARATOR = ","
"""Joins the run uids of a run group in its primitive form."""


@dataclass(frozen=True)
class RunGroup:
    """The runs of one batch (one run, or a batch split into several), in launch order.

    :param uids: the member run uids (at least one).
    """

    uids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.uids:
            raise ValueError("a run group needs at least one run uid")

    @classmethod
    def parse(cls, run_id: str) -> RunGroup:
        """Read a run id (``uid`` or ``uid1,uid2,...``); empty members are ignored, and an id with
        no member at all stays a group of itself (so checking the uid reports it as given).

        :param run_id: the primitive form, as kept in XCom and trigger kwargs.
        """
        uids = tuple(uid for uid in run_id.split(GROUP_SEPARATOR) if uid)
        return cls(uids or (run_id,))

    @classmethod
    def of(cls, uids: Iterable[str]) -> RunGroup:
        """The group of ``uids`` (in order).

        :param uids: the member run uids.
        """
        return cls(tuple(uids))

    @property
    def run_id(self) -> str:
        """The primitive form (what XCom, trigger kwargs and the state store carry)."""
        return GROUP_SEPARATOR.join(self.uids)

    @property
    def is_split(self) -> bool:
        """Whether the batch runs as several runs (its status combines theirs)."""
        return len(self.uids) > 1

    @property
    def first(self) -> str:
        """The first run's uid (the one a link shows)."""
        return self.uids[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self.uids)

    def __len__(self) -> int:
        return len(self.uids)


def combine_statuses(parts: list[tuple[str, RunStatus]]) -> RunStatus:
    """One status for a run group: it waits while any run waits, needs action when one does,
    succeeds when all succeed, fails when all fail, and is partial otherwise.

    :param parts: ``(uid, status)`` of each member run, in the group's order.
    """
    progress = group_progress(parts)
    for uid, status in parts:
        if status.state is RunState.NEEDS_ACTION:
            return RunStatus(
                status.state,
                status.raw_status,
                f"run {uid}: {status.message}",
                {**status.details, "run_uid": uid, PROGRESS: progress},
                action=status.action,
            )
    waiting = [(uid, s) for uid, s in parts if not s.state.is_terminal]
    if waiting:
        uid, status = waiting[0]
        details = {**status.details, "run_uid": uid, PROGRESS: progress}
        return RunStatus(status.state, status.raw_status, status.message, details)
    states = {s.state for _, s in parts}
    messages = "; ".join(f"run {uid}: {s.message}" for uid, s in parts if s.message)
    if states == {RunState.SUCCEEDED}:
        return RunStatus(RunState.SUCCEEDED, "SUCCEEDED", None, {"runs": len(parts)})
    if states <= {RunState.FAILED, RunState.CANCELLED}:
        return RunStatus(RunState.FAILED, "FAILED", messages or None, {"runs": len(parts)})
    return RunStatus(RunState.PARTIAL, "PARTIAL_SUCCEEDED", messages or None, {"runs": len(parts)})


def group_progress(parts: list[tuple[str, RunStatus]]) -> dict[str, Any]:
    """A run group's progress: how many of its runs ended (``runs_done``: ``"1/3"``) and, where
    the members' statuses tell, their outputs so far (summed).

    :param parts: ``(uid, status)`` of each member run.
    """
    done = sum(1 for _, status in parts if status.state.is_terminal)
    progress: dict[str, Any] = {"runs_done": f"{done}/{len(parts)}"}
    outputs = sum((s.details.get(PROGRESS) or {}).get("outputs", 0) for _, s in parts)
    if outputs:
        progress["outputs"] = outputs
    return progress


def group_manifest(
    run_id: str, runs: Sequence[Mapping[str, Any]], status: RunStatus | None, url: str
) -> dict[str, Any]:
    """The head of a task's manifest for a run or run group: its id, status, URL and output count
    (summed), plus each run's uid and status for a group (whose status is then the combined one,
    when known).

    :param run_id: the run id (a group's primitive form).
    :param runs: the run objects of the group's members, in order.
    :param status: the (combined) status the wait ended with, or ``None`` (not waited for).
    :param url: the run's URL.
    """
    counts = [run.get("output_count") for run in runs]
    manifest: dict[str, Any] = {
        "run_uid": run_id,
        "status": runs[0].get("status"),
        "url": url,
        "output_count": sum(c for c in counts if isinstance(c, int)),
    }
    if len(runs) > 1:
        if status is not None:
            manifest["status"] = status.raw_status
        manifest["runs"] = [{"run_uid": run.get("uid"), "status": run.get("status")} for run in runs]
    return manifest
