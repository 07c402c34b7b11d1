"""How an Edges task instance finds what it launched before: Edges has no idempotency key, so
every launch carries a ``name`` derived from the task instance (:func:`run_name`), and a retry
looks that name up among the action's recent runs (or schedules) before launching again.

A batch split into several runs names its parts ``<name>:part<k>of<n>`` (:func:`part_name`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow_provider_runs.core.states import RunState
from airflow_provider_runs.hooks.edges import EdgesHook, RunGroup, interpret_status, schedule_uid
from airflow_provider_runs.validation import service_time


def run_name(dag_id: str, task_id: str, run_id: str, map_index: int) -> str:
    """The run ``name`` that marks a launch as this task instance's (Edges has no idempotency key)."""
    digest = hashlib.sha256(json.dumps([dag_id, task_id, run_id, map_index]).encode()).hexdigest()[:20]
    return f"airflow:{dag_id}.{task_id}:{digest}"[:255]


def task_run_name(context: Any, dag_id: str, task_id: str) -> str:
    """:func:`run_name` of the task instance running in ``context`` (the DAG's and task's ids
    stand in for what the task instance does not carry).

    :param context: the task's Airflow context.
    :param dag_id: the operator's DAG id.
    :param task_id: the operator's task id.
    """
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return run_name(
        getattr(ti, "dag_id", None) or dag_id,
        task_id,
        getattr(ti, "run_id", None) or str(context.get("run_id")),
        map_index if isinstance(map_index, int) else -1,
    )


def part_name(name: str, k: int, total: int) -> str:
    """The name of part ``k`` (from 1) of a batch split into ``total`` runs."""
    return f"{name}:part{k}of{total}"


def created_at(run: Mapping[str, Any]) -> datetime | None:
    """A listed run's ``created_at`` (a value without offset is UTC); ``None`` when it has none
    that parses (reported: :func:`~airflow_provider_runs.validation.service_time`)."""
    return service_time(run, "created_at", service="Edges")


def runs_named(
    hook: EdgesHook,
    action: str,
    prefix: str,
    since: datetime | None = None,
    *,
    states: dict[str, RunState] | None = None,
) -> dict[str, str]:
    """``{name: uid}`` of the action's recent runs whose name starts with ``prefix`` (the newest
    run of each name), listed newest first down to ``since``.

    :param hook: the Edges hook.
    :param action: the action slug.
    :param prefix: the start of the names wanted.
    :param since: runs created before this are not read.
    :param states: when given, receives each found run's listed state by name.
    """
    found: dict[str, str] = {}
    for run in hook.iter_runs(filters={"action_name": [action]}, sort="-created_at"):
        created = created_at(run)
        if since is not None and created is not None and created < since:
            break
        name = run.get("name") or ""
        if name.startswith(prefix) and name not in found:
            found[name] = str(run["uid"])
            if states is not None:
                states[name] = interpret_status(run.get("status")).state
    return found


def named_run(runs: Mapping[str, str], name: str) -> str | None:
    """The run id launched as ``name`` among ``runs`` (``{name: uid}``): the run of that name, or
    the group of a split batch's parts when every part exists (else ``None``).

    :param runs: found runs by name (:func:`runs_named`).
    :param name: the task instance's run name.
    """
    if name in runs:
        return runs[name]
    parts = {n: uid for n, uid in runs.items() if n.startswith(f"{name}:part")}
    if not parts:
        return None
    total = int(next(iter(parts)).rsplit("of", 1)[-1])
    ordered = [parts.get(part_name(name, k, total)) for k in range(1, total + 1)]
    uids = [uid for uid in ordered if uid]
    return RunGroup.of(uids).run_id if uids and len(uids) == len(ordered) else None


def reusable(state: RunState) -> bool:
    """Whether a part found in ``state`` may be waited on again (it has not ended without success)."""
    return not state.is_terminal or state in (RunState.SUCCEEDED, RunState.PARTIAL)


def named_schedule(hook: EdgesHook, action: str, name: str) -> dict[str, Any] | None:
    """The action's schedule created as ``name`` and not cancelled, if any."""
    for schedule in hook.iter_schedules(filters={"action_name": action}):
        if schedule.get("name") == name and schedule.get("status") != "CANCELLED":
            return dict(schedule)
    return None


def schedule_manifest(schedule: Mapping[str, Any]) -> dict[str, Any]:
    """The XCom result of schedule mode: the schedule's uid, status, cron and next execution."""
    return {
        "schedule_uid": schedule_uid(schedule),
        "status": schedule.get("status"),
        "cron": schedule.get("cron"),
        "next_execution_at": schedule.get("next_execution_at"),
    }


def run_live(hook: EdgesHook, action: str, input: Any, *, max_pages: int, **fields: Any) -> Any:
    """A live run's result: one page as it is; list pages (``X-Pagination-Next``, up to
    ``max_pages``) joined into one list.

    :param hook: the Edges hook.
    :param action: the action slug.
    :param input: the run's single input.
    :param max_pages: the most result pages to follow.
    :param fields: ``parameters``, ``identity_mode``, ``identity_ids``.
    """
    pages = list(hook.iter_live_pages(action, input, max_pages=max_pages, **fields))
    if len(pages) == 1 or not all(isinstance(p, list) for p in pages):
        return pages[0] if len(pages) == 1 else pages
    return [item for page in pages for item in page]
