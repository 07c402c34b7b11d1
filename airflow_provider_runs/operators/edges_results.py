"""Where an Edges batch's results go: every output, and every failed input with its error, streamed
from the service to JSON-lines files (never all in memory)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from typing import IO, Any

from airflow_provider_runs.hooks.edges import FAILED_INPUT_STATUSES, EdgesHook
from airflow_provider_runs.hooks.edges_groups import RunGroup
from airflow_provider_runs.operators.edges_failed_inputs import NO_DATA, input_outcome
from airflow_provider_runs.outputs import open_path
from airflow_provider_runs.waiting.errors import RunFailedError


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


def failed_by_status(item: Mapping[str, Any]) -> bool:
    """Whether an ended run's input row failed: ``FAILED`` or ``BLOCKED``, except a ``FAILED``
    input labelled ``NO_RESULT``/``STATUS_404``, which the service counts as a successful "no
    data" outcome since 2026-02 (``specs/edges.md`` §3; servers of before still send it as
    ``FAILED``)."""
    return item.get("status") in FAILED_INPUT_STATUSES and input_outcome(item) != NO_DATA


def write_failed_inputs(
    hook: EdgesHook,
    uids: Sequence[str],
    path: str | None,
    is_failed: Callable[[Mapping[str, Any]], bool] = failed_by_status,
) -> tuple[int, int]:
    """Stream the runs' inputs once and write the failed ones (with their errors) to ``path``,
    created only when there is one; return ``(inputs, failed inputs)``.

    :param hook: the Edges hook.
    :param uids: the run uids, in order.
    :param path: the failed-inputs file (local path or object-storage URL), or ``None`` to only count.
    :param is_failed: which input rows failed (default: :func:`failed_by_status`).
    """
    total = failed = 0
    with ExitStack() as files:
        handle: IO[str] | None = None
        for item in (item for uid in uids for item in hook.iter_inputs(uid)):
            total += 1
            if not is_failed(item):
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


def write_batch_files(
    hook: EdgesHook,
    run_id: str,
    expected: int,
    output_path: str | None,
    failed_inputs_path: str | None,
    is_failed: Callable[[Mapping[str, Any]], bool] = failed_by_status,
) -> dict[str, Any]:
    """Write an ended batch's results and failed inputs to their files; return the manifest's
    counts and paths (``results``, ``output_path``, ``inputs``, ``failed_inputs``,
    ``failed_inputs_path``, ``succeeded_inputs``).

    :param hook: the Edges hook.
    :param run_id: the run (or a split batch's group id).
    :param expected: the result rows the service reports (its ``output_count``): fewer read fail.
    :param output_path: the results file, or ``None`` to only count.
    :param failed_inputs_path: the failed-inputs file, or ``None`` to only count.
    :param is_failed: which input rows failed (default: :func:`failed_by_status`).
    :raises RunFailedError: fewer results could be read than the service reports.
    """
    uids = RunGroup.parse(run_id).uids
    written = write_outputs(hook, uids, output_path)
    if written < expected:
        raise RunFailedError(
            f"Edges run {run_id} reports {expected} results but only {written} could be read. "
            f"Run: {hook.run_url(run_id)}"
        )
    total, failed = write_failed_inputs(hook, uids, failed_inputs_path, is_failed)
    return {
        "results": written,
        "output_path": output_path,
        "inputs": total,
        "failed_inputs": failed,
        "failed_inputs_path": failed_inputs_path if failed or failed_inputs_path else None,
        "succeeded_inputs": total - failed,
    }


def lineage_paths(mode: str, inputs_path: str | None, written: str | None) -> tuple[list[str], list[str]]:
    """The files of an async batch, for OpenLineage: ``(inputs_path read, results file written)``.

    :param mode: the operator's mode (a live call or a schedule runs nothing of the task's files).
    :param inputs_path: the rendered ``inputs_path``, or ``None`` (inputs given as a list).
    :param written: the ``output_path`` the results were written to, ``None`` when none was.
    """
    if mode != "async":
        return [], []
    return ([inputs_path] if inputs_path else []), ([written] if written else [])
