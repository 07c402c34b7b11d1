"""What the distributed suite measured, per scenario (``.e2e-distributed/results.json``), and the
counters it reads from the emulator."""

from __future__ import annotations

import json
import time
from typing import Any

RESULTS: dict[str, Any] = {}
"""Filled by the scenarios: one key per scenario, plus start-up and suite wall times."""

CREATED = {"inference_sh": "tasks_created", "inferable": "runs_created", "edges": "runs_created"}
"""The emulator counter of remote runs created, by service."""


def created(counters: dict[str, Any]) -> dict[str, int]:
    """Remote runs created so far, by service, with the inference.sh cancels."""
    found = {service: int(counters[service][name]) for service, name in CREATED.items()}
    found["inference_sh_cancels"] = int(counters["inference_sh"]["cancels"])
    return found


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """``after - before``, key by key."""
    return {key: after[key] - before.get(key, 0) for key in after}


class Timer:
    """Wall time of a scenario: ``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> Timer:
        self.started = time.monotonic()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = round(time.monotonic() - self.started, 1)


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line per figure: ``scenario  key  value``."""
    lines = []
    for scenario, figures in results.items():
        if not isinstance(figures, dict):
            lines.append(f"{scenario:<28} {figures}")
            continue
        for key, value in figures.items():
            text = json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
            lines.append(f"{scenario:<28} {key:<32} {text}")
    return lines


def runs_per_tag(created_tags: dict[str, list[str]], expected: dict[str, list[str]]) -> dict[str, Any]:
    """Duplicates and lost runs of the ``expected`` tags, by service, from ``GET /_emulator/created``:
    ``{"duplicates": {service: [tag, ...]}, "lost": {...}, "runs": n}``."""
    duplicates, lost, runs = {}, {}, 0
    for service, tags in expected.items():
        seen = created_tags.get(service, [])
        counts = {tag: seen.count(tag) for tag in tags}
        runs += sum(counts.values())
        duplicates[service] = sorted(tag for tag, n in counts.items() if n > 1)
        lost[service] = sorted(tag for tag, n in counts.items() if n == 0)
    return {"duplicates": duplicates, "lost": lost, "runs": runs}
