"""Batch inputs from a list, a JSON-lines file or a CSV file, read as a stream.

A file is read twice: once to count and check every line (so that bad input or more inputs
than a run accepts fail before any HTTP call, naming the line), once while the request body is
being sent. Neither pass holds more than one line in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_runs.outputs import open_path
from airflow_provider_runs.validation import check_json


@dataclass(frozen=True)
class InputSource:
    """Where a batch's inputs come from: an in-memory list or a file path / URL.

    :param items: the inputs as a list (from the DAG, a template or an upstream XCom).
    :param path: a local path or object-storage URL of a ``.jsonl``/``.ndjson`` or ``.csv`` file.
    :param file_format: ``jsonl`` or ``csv``; by default taken from the file's suffix.
    """

    items: Sequence[Mapping[str, Any]] | None = None
    path: str | None = None
    file_format: str | None = None

    @property
    def format(self) -> str:
        """The file format (``jsonl`` or ``csv``)."""
        if self.file_format:
            return self.file_format
        name = str(self.path or "").lower()
        return "csv" if name.endswith(".csv") else "jsonl"

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.items is not None:
            yield from (dict(item) for item in self.items)
            return
        for _, item in self._read_file():
            yield item

    def count(self) -> int:
        """Count the inputs, checking each one; raise ``ValueError`` naming the bad item or line."""
        if self.items is not None:
            if isinstance(self.items, str | bytes | Mapping) or not isinstance(self.items, Sequence):
                raise ValueError(f"inputs must be a list of JSON objects; got {type(self.items).__name__}")
            for i, item in enumerate(self.items):
                if not isinstance(item, Mapping):
                    raise ValueError(f"inputs[{i}] must be a JSON object, got {type(item).__name__}")
            check_json(list(self.items), "inputs")
            return len(self.items)
        return sum(1 for _ in self._read_file())

    def _read_file(self) -> Iterator[tuple[int, dict[str, Any]]]:
        path = open_path(str(self.path))
        if not path.exists():
            raise ValueError(f"inputs_path {self.path!r} does not exist")
        if self.format == "csv":
            yield from self._read_csv(path)
        else:
            yield from self._read_jsonl(path)

    def _read_jsonl(self, path: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        with path.open("r") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line, parse_constant=_no_constant)
                except ValueError as exc:
                    raise ValueError(
                        f"inputs_path {self.path} line {number}: not valid JSON ({getattr(exc, 'msg', exc)})"
                    ) from None
                if not isinstance(item, dict):
                    raise ValueError(
                        f"inputs_path {self.path} line {number}: expected a JSON object, "
                        f"got {type(item).__name__}"
                    )
                yield number, item

    def _read_csv(self, path: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        with path.open("r", newline="") as raw:
            handle = raw if isinstance(raw, io.TextIOBase) else io.TextIOWrapper(raw)
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                raise ValueError(f"inputs_path {self.path}: the CSV file has no header row")
            for row in reader:
                number = reader.line_num
                if None in row:
                    raise ValueError(f"inputs_path {self.path} line {number}: more fields than the header")
                item: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
                if "custom_data" in item:
                    try:
                        item["custom_data"] = json.loads(item["custom_data"], parse_constant=_no_constant)
                    except ValueError:
                        raise ValueError(
                            f"inputs_path {self.path} line {number}: custom_data is not valid JSON"
                        ) from None
                yield number, item


def _no_constant(name: str) -> Any:
    """``json.loads`` hook: ``NaN``/``Infinity`` are not JSON (the service would refuse them)."""
    raise ValueError(f"{name} is not a JSON value")


def chunked(total: int, size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` index ranges splitting ``total`` inputs into runs of at most ``size``."""
    return [(start, min(start + size, total)) for start in range(0, total, size)]


def slice_source(source: InputSource, start: int, stop: int) -> Iterator[dict[str, Any]]:
    """The inputs with index in ``[start, stop)``, streamed."""
    for index, item in enumerate(source):
        if index >= stop:
            return
        if index >= start:
            yield item
