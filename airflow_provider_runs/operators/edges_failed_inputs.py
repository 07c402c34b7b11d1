"""Which inputs of an Edges run failed, what a rerun sends for them, and the counts of a first run
and its rerun merged. Pure logic: no HTTP, no Airflow.

**Failed** means every input that did not succeed and can be tried again:

- ``FAILED`` and ``BLOCKED`` inputs (``specs/edges.md`` §2.7 and §4: "select ``status=FAILED``
  (or ``BLOCKED``)"), and every input that never finished (``CREATED``, ``QUEUED``,
  ``SCHEDULED``, ``RUNNING``, ``STOPPED``, or a status this version does not know);
- except a ``FAILED`` input whose error label is ``NO_RESULT`` or ``STATUS_404``: since 2026-02
  the service counts those as successful "no data" outcomes, not failures (§3, last line;
  ``STATUS_404``: the profile does not exist). The action ran and found nothing: sending the
  input again would spend credits for the same empty answer, so it counts as **succeeded**.

``SUCCEEDED`` inputs (with or without rows) are never sent again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

NO_DATA_LABELS = frozenset({"NO_RESULT", "STATUS_404"})
"""Per-input error labels the service counts as a successful "no data" outcome (spec §3)."""
SUCCEEDED = "succeeded"
NO_DATA = "no_data"
FAILED = "failed"
_RERUN_SUFFIX = re.compile(r"\.rerun-(\d+)$")


def error_label(item: Mapping[str, Any]) -> str | None:
    """The error label of an input row (``last_error.label``) or of a failed-inputs file record
    (``error.label``); ``None`` when it has none.

    :param item: a row of ``GET /runs/{uid}/inputs`` or a record of a failed-inputs file.
    """
    for key in ("last_error", "error"):
        error = item.get(key)
        if isinstance(error, Mapping) and error.get("label"):
            return str(error["label"])
    return None


def input_outcome(item: Mapping[str, Any]) -> str:
    """:data:`SUCCEEDED`, :data:`NO_DATA` (counted as succeeded) or :data:`FAILED` (sent again).

    :param item: a row of ``GET /runs/{uid}/inputs`` (``status``, ``last_error``), or a record of
        a failed-inputs file (``status``, ``error``); a plain input (no ``status``) is one that
        failed (a list of failed inputs written by hand).
    """
    status = str(item.get("status") or "FAILED").upper()
    if status == "SUCCEEDED":
        return SUCCEEDED
    if status == "FAILED" and error_label(item) in NO_DATA_LABELS:
        return NO_DATA
    return FAILED


def rerun_input(item: Mapping[str, Any]) -> dict[str, Any]:
    """The input to send again for a failed input, with its ``custom_data`` (so the rerun's
    results correlate with the first ones).

    :param item: a row of ``GET /runs/{uid}/inputs`` (``input_data``, ``custom_data``), a record
        of a failed-inputs file (``input``, ``custom_data``), or a plain input (returned as is).
    """
    for key in ("input_data", "input"):
        if key in item and isinstance(item[key], Mapping):
            sent = dict(item[key])
            custom = item.get("custom_data")
            if custom is not None and "custom_data" not in sent:
                sent["custom_data"] = custom
            return sent
    if "status" in item and ("error" in item or "last_error" in item):
        raise ValueError(f"failed input {item.get('uid')!r} carries no input to send again")
    return dict(item)


def rerun_path(path: str | None, number: int) -> str | None:
    """Where the ``number``-th rerun writes beside ``path``: ``out.jsonl`` -> ``out.rerun-1.jsonl``;
    the file of an earlier rerun gives the same stem (``out.rerun-1.jsonl``, 2 ->
    ``out.rerun-2.jsonl``). ``None`` stays ``None``.

    :param path: the first run's file (local path or URL).
    :param number: the rerun's number (from 1).
    """
    if not path:
        return None
    slash = path.rfind("/")
    folder, name = path[: slash + 1], path[slash + 1 :]
    dot = name.rfind(".")
    stem, suffix = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    stem = _RERUN_SUFFIX.sub("", stem)
    return f"{folder}{stem}.rerun-{number}{suffix}"


def rerun_number_of(path: str | None) -> int:
    """The rerun number a file name carries (``out.rerun-2.jsonl`` -> 2), else 0."""
    if not path:
        return 0
    name = path.rsplit("/", 1)[-1]
    stem = name[: name.rfind(".")] if name.rfind(".") > 0 else name
    match = _RERUN_SUFFIX.search(stem)
    return int(match.group(1)) if match else 0


@dataclass
class Counts:
    """Input and result counts of a run (or of runs merged); ``None`` where unknown (a
    failed-inputs file alone does not say how many inputs the first run had).

    :param inputs: how many inputs.
    :param succeeded: how many succeeded (``no data`` included).
    :param failed: how many failed (see the module's docstring).
    :param results: how many result rows.
    """

    inputs: int | None
    succeeded: int | None
    failed: int
    results: int | None

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Counts:
        """Read :meth:`as_manifest` (what a manifest's ``merged`` holds)."""
        return cls(
            _int(value.get("inputs")),
            _int(value.get("succeeded_inputs")),
            _int(value.get("failed_inputs")) or 0,
            _int(value.get("results")),
        )

    def as_manifest(self) -> dict[str, Any]:
        """The manifest's words: ``inputs``, ``succeeded_inputs``, ``failed_inputs``, ``results``."""
        return {
            "inputs": self.inputs,
            "succeeded_inputs": self.succeeded,
            "failed_inputs": self.failed,
            "results": self.results,
        }


def merge(baseline: Counts, sent: int, rerun: Counts) -> Counts:
    """The counts across the first run (or the runs merged so far) and a rerun of ``sent`` of
    its failed inputs: the inputs of the first run, those that succeeded in either, those that
    still fail, and every result row.

    :param baseline: the first run's counts (or the merged counts of an earlier rerun chain).
    :param sent: how many failed inputs the rerun sent again.
    :param rerun: the rerun's own counts.
    """
    succeeded = (
        None
        if baseline.succeeded is None or rerun.succeeded is None
        else baseline.succeeded + rerun.succeeded
    )
    results = None if baseline.results is None or rerun.results is None else baseline.results + rerun.results
    return Counts(
        inputs=baseline.inputs,
        succeeded=succeeded,
        failed=max(baseline.failed - sent, 0) + rerun.failed,
        results=results,
    )


@dataclass
class Scan:
    """Counts of one pass over a run's inputs (or a failed-inputs file)."""

    total: int = 0
    succeeded: int = 0
    no_data: int = 0
    failed: int = 0

    def add(self, outcome: str) -> None:
        """Count one input's :func:`input_outcome`."""
        self.total += 1
        if outcome == SUCCEEDED:
            self.succeeded += 1
        elif outcome == NO_DATA:
            self.no_data += 1
        else:
            self.failed += 1

    def as_dict(self) -> dict[str, int]:
        """The counts as a dict (for the task state and logs)."""
        return asdict(self)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
