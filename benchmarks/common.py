"""Shared benchmark plumbing: the emulator in its own process, process CPU, results files."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BENCH_ROUTES = ROOT / "benchmarks" / "emulator_routes.py"
"""The benchmark-only emulator routes, mounted on every benchmark's emulator."""
CLK_TCK = os.sysconf("SC_CLK_TCK")


class EmulatorProcess:
    """The emulator in a separate process (so its CPU is not the client's), with the benchmark
    routes of ``emulator_routes.py`` mounted (``/_emulator/bench/...``).

    Started and stopped by :func:`~airflow_provider_runs.testing.emulator.server.start_emulator_process`
    (its output goes to a log file, never to a pipe nobody reads).

    :param args: extra command-line arguments for the emulator.
    """

    def __init__(self, *args: str) -> None:
        from airflow_provider_runs.testing.emulator.server import start_emulator_process

        self.proc, self.url = start_emulator_process(
            [*args, "--extra-router", f"{BENCH_ROUTES}:build_router"]
        )

    def cpu_seconds(self) -> float:
        """User + system CPU of the emulator process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call the emulator's control API."""
        import requests

        resp = requests.request(method, f"{self.url}/_emulator{path}", json=body, timeout=600)
        resp.raise_for_status()
        return resp.json()

    def stop(self) -> None:
        """Stop the emulator's process group."""
        from airflow_provider_runs.testing.emulator.server import stop_emulator_process

        if self.proc.poll() is None:
            stop_emulator_process(self.proc)


def current_rss_kb() -> int:
    """The current resident set size of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_rss_kb() -> int:
    """The peak resident set size of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), nearest rank."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2))
    return path


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print rows as an aligned text table."""
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def now() -> float:
    """Wall time (for lag measurements against the emulator's completion times)."""
    return time.time()
