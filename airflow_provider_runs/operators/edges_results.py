"""Where an Edges batch's results go: every output, and every failed input with its error, streamed
from the service to JSON-lines files (never all in memory)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from typing import IO, Any

from airflow_provider_runs.hooks.edges import FAILED_INPUT_STATUSES, EdgesHook
from airflow_provider_runs.outputs import open_path


def _open_for_writing(path: str) -> IO[str]:
    """``path`` (local or object storage) opened for writing text, its folder created."""
    target = open_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.open("w")


def _line(item: Any) -> str:
    return json.dumps(item, separators=(",", ":")) + "\n"


def write_outputs(hook: EdgesHook, uids: Iterable[str], path: str | None) -> int:
    """Stream every result of the runs ``uids`` to ``path`` (JSON lines, when given); return how
    many there were.

    :param hook: the Edges hook.
    :param uids: the run uids, in order.
    :param path: the output file (local path or object-storage URL), or ``None`` to only count.
    """
    items = (item for uid in uids for item in hook.iter_outputs(uid))
    if not path:
        return sum(1 for _ in items)
    count = 0
    with _open_for_writing(path) as handle:
        for item in items:
            handle.write(_line(item))
            count += 1
    return count


def write_failed_inputs(hook: EdgesHook, uids: Sequence[str], path: str | None) -> tuple[int, int]:
    """Stream the runs' inputs once and write the failed ones (with their errors) to ``path``,
    created only when there is one; return ``(inputs, failed inputs)``.

    :param hook: the Edges hook.
    :param uids: the run uids, in order.
    :param path: the failed-inputs file (local path or object-storage URL), or ``None`` to only count.
    """
    total = failed = 0
    with ExitStack() as files:
        handle: IO[str] | None = None
        for item in (item for uid in uids for item in hook.iter_inputs(uid)):
            total += 1
            if item.get("status") not in FAILED_INPUT_STATUSES:
                continue
            failed += 1
            if not path:
                continue
            if handle is None:
                handle = files.enter_context(_open_for_writing(path))
            record = {
                "uid": item.get("uid"),
                "status": item.get("status"),
                "input": item.get("input_data"),
                "custom_data": item.get("custom_data"),
                "error": item.get("last_error"),
            }
            handle.write(_line(record))
    return total, failed


def lineage_paths(mode: str, inputs_path: str | None, written: str | None) -> tuple[list[str], list[str]]:
    """The files of an async batch, for OpenLineage: ``(inputs_path read, results file written)``.

    :param mode: the operator's mode (a live call or a schedule runs nothing of the task's files).
    :param inputs_path: the rendered ``inputs_path``, or ``None`` (inputs given as a list).
    :param written: the ``output_path`` the results were written to, ``None`` when none was.
    """
    if mode != "async":
        return [], []
    return ([inputs_path] if inputs_path else []), ([written] if written else [])
