"""DAG parse cost: what importing an operator or sensor adds on top of ``import airflow.sdk``.

Every DAG file that uses the provider pays its import on every parse. Each target is imported in a
fresh interpreter (the same Python as this script) right after ``import airflow.sdk``, ``--repeat``
times, interleaved with baseline interpreters that import only ``airflow.sdk``, so that all see the
same machine load. Two figures per target, both CPU time (user + system), medians:

- ``added_ms``: the CPU the target's import takes in its interpreter once ``airflow.sdk`` is
  loaded (``time.process_time()`` around the import): what the provider adds to a parse, measured
  without the ~3 s of the baseline's own noise. The goal is judged on it.
- ``process_ms`` / ``process_added_ms``: the whole interpreter's CPU
  (``resource.getrusage(RUSAGE_CHILDREN)``, start-up and exit included) and its difference to the
  baseline interpreters' median (noisier: it carries the baseline's spread).

Bytecode is warm, as in a deployment: the children write and read their ``.pyc`` files under a
temporary ``PYTHONPYCACHEPREFIX`` (``PYTHONDONTWRITEBYTECODE`` is dropped for them, the source tree
gets no ``__pycache__``), filled by a warm-up pass before anything is measured.

A last pass per target runs once with ``-X importtime`` and lists what the target imports beyond
the baseline: the HTTP libraries (which should load on first use, not at parse) and the biggest
modules by self time.

Goal (issue 14): an operator import adds at most ``--goal-ms`` (50 ms) over ``airflow.sdk``.

Usage: ``python benchmarks/import_cost.py [--repeat 9] [--goal-ms 50]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, print_table, write_results

BASELINE = "airflow.sdk"
TOGETHER = "all operators and sensors"
"""The label of the target importing every module at once (reported, not held to the goal)."""
HTTP_LIBRARIES = ("aiohttp", "requests", "urllib3", "tenacity")
"""Libraries a DAG parse should not load (the transports load them when first used)."""


def targets() -> dict[str, str]:
    """``{label: import statement}``: each built-in service's operator and sensor modules, and all
    of them together."""
    from airflow_provider_runs.services import BUILT_IN

    found = {
        module.rsplit(".", 2)[-2] + "." + module.rsplit(".", 1)[-1]: f"import {module}"
        for service in BUILT_IN
        for module in (*service.operators, *service.sensors)
    }
    found[TOGETHER] = "; ".join(found.values())
    return found


CHILD = f"""
import time
import {BASELINE}
started = time.process_time()
{{statement}}
print(time.process_time() - started)
"""
"""A child interpreter: the baseline, then the statement timed (its CPU printed)."""


CHILD_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
"""The children's environment (``PYTHONPYCACHEPREFIX`` is set by :func:`main`)."""


def child_cpu(statement: str) -> tuple[float, float]:
    """``(whole interpreter CPU, CPU of the statement)`` in seconds (user + system) for a fresh
    interpreter that imports the baseline, then runs ``statement``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(statement=statement)],
        check=True,
        cwd=ROOT,
        env=CHILD_ENV,
        capture_output=True,
        text=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    whole = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return whole, float(done.stdout.split()[-1])


def import_profile(statement: str) -> dict[str, int]:
    """``{module: self microseconds}`` of everything ``statement`` imports (``-X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        check=True,
        cwd=ROOT,
        env=CHILD_ENV,
        capture_output=True,
        text=True,
    )
    profile = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line[len("import time:") :].split("|", 2)
        profile[name.strip()] = int(self_us)
    return profile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9, help="fresh interpreters per target")
    parser.add_argument("--goal-ms", type=float, default=50.0, help="the most an import may add")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-cost-pyc-") as pycache:
        CHILD_ENV["PYTHONPYCACHEPREFIX"] = pycache
        measure(args.repeat, args.goal_ms)


def measure(repeat: int, goal_ms: float) -> None:
    """Run the children, write the results and print the table.

    :param repeat: fresh interpreters per target.
    :param goal_ms: the most an operator or sensor import may add (reported, not enforced).
    """
    cases = {BASELINE: "pass", **targets()}
    for statement in cases.values():  # warm the file cache and the bytecode
        child_cpu(statement)
    whole: dict[str, list[float]] = {label: [] for label in cases}
    added: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(repeat):  # interleaved: a load spike hits baseline and targets alike
        for label, statement in cases.items():
            process, statement_cpu = child_cpu(statement)
            whole[label].append(process)
            added[label].append(statement_cpu)
    base_ms = 1e3 * statistics.median(whole[BASELINE])
    base_profile = import_profile(f"import {BASELINE}")
    rows: list[dict[str, Any]] = [
        {"import": BASELINE, "process_ms": base_ms, "process_spread_ms": _spread(whole[BASELINE])}
    ]
    for label, statement in list(cases.items())[1:]:
        profile = import_profile(f"import {BASELINE}; {statement}")
        extra = {name: us for name, us in profile.items() if name not in base_profile}
        loaded = [lib for lib in HTTP_LIBRARIES if lib in extra]
        process_ms = 1e3 * statistics.median(whole[label])
        rows.append(
            {
                "import": label,
                "added_ms": 1e3 * statistics.median(added[label]),
                "added_spread_ms": _spread(added[label]),
                "process_ms": process_ms,
                "process_added_ms": process_ms - base_ms,
                "process_spread_ms": _spread(whole[label]),
                "importtime_added_ms": sum(extra.values()) / 1e3,
                "http_libraries": ",".join(loaded) or "-",
                "top_modules": [
                    f"{name} {us / 1e3:.1f}" for name, us in sorted(extra.items(), key=lambda kv: -kv[1])[:8]
                ],
            }
        )
    worst = max(row["added_ms"] for row in rows[1:] if row["import"] != TOGETHER)
    results = {
        "python": sys.version.split()[0],
        "repeat": repeat,
        "baseline": BASELINE,
        "goal_added_ms": goal_ms,
        "worst_added_ms": worst,
        "goal_met": worst <= goal_ms,
        "rows": rows,
    }
    path = write_results("import_cost", results)
    print_table(
        rows,
        [
            "import",
            "added_ms",
            "added_spread_ms",
            "process_ms",
            "process_added_ms",
            "process_spread_ms",
            "importtime_added_ms",
            "http_libraries",
        ],
    )
    verdict = "met" if worst <= goal_ms else "NOT met"
    goal = f"goal <= {goal_ms:g} ms: {verdict}"
    print(f"\nthe costliest operator or sensor adds {worst:.1f} ms CPU to `import {BASELINE}` ({goal})")
    print(f"results: {path}")


def _spread(values: list[float]) -> float:
    """Max - min of the samples, in ms."""
    return 1e3 * (max(values) - min(values))


if __name__ == "__main__":
    main()
