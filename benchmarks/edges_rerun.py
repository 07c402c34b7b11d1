"""Edges "rerun only what failed", end to end on a 10,000-input run with 3% failures.

1. An ordinary Edges task runs N inputs; the emulator fails a share of them (``fail_share``, a
   real failure label: ``NO_RESULT`` would be a "no data" success).
2. The rerun task, fed the first task's manifest, is killed right after it launched the rerun;
   its retry reattaches. Measured: the inputs the rerun sent (must equal the failed ones), the
   runs, inputs and requests the emulator saw per phase, wall time, and that the retry created
   no third run.
3. For comparison, a rerun fed only the run uid (the failed inputs read from the service, 100 a
   page, instead of the first task's file).

The emulator runs in its own process, fast-forwarded, with no rate limit (the request counts are
what a plan's budget pays: at 150 requests a minute each 150 cost a minute).

Usage: ``python benchmarks/edges_rerun.py [--n 10000] [--share 0.03]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EmulatorProcess, print_table, write_results

KEY = "edges_emulator_key"
ACTION = "linkedin-extract-people"


class _Store:
    """A task state store (Airflow 3.3: survives retries)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


class _TI:
    """A task instance; ``die_at_first_push``: the worker is killed right after the launch."""

    map_index, run_id, dag_id = -1, "bench", "bench"

    def __init__(self, try_number: int, die_at_first_push: bool = False) -> None:
        self.try_number, self.die = try_number, die_at_first_push
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        if self.die:
            raise SystemExit("worker killed")
        self.xcoms[key] = value


def edges_counters(emulator: EmulatorProcess) -> dict[str, Any]:
    return emulator.control("GET", "/counters")["edges"]


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Runs, inputs and requests between two counter snapshots."""
    requests = sum(after["requests"].values()) - sum(before["requests"].values())
    pages = {
        key: after["requests"].get(key, 0) - before["requests"].get(key, 0)
        for key in after["requests"]
        if after["requests"].get(key, 0) != before["requests"].get(key, 0)
    }
    return {
        "runs_created": after.get("runs_created", 0) - before.get("runs_created", 0),
        "inputs_received": after.get("inputs_received", 0) - before.get("inputs_received", 0),
        "requests": requests,
        "by_route": pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--share", type=float, default=0.03)
    args = parser.parse_args()
    emulator = EmulatorProcess("--time-scale", "200", "--edges-tier", "unlimited")
    os.environ["AIRFLOW_CONN_EDGES_DEFAULT"] = json.dumps(
        {
            "conn_type": "edges",
            "host": emulator.url + "/edges/v1",
            "password": KEY,
            "extra": {"identity_mode": "managed", "requests_per_minute": 0},
        }
    )
    from airflow_provider_runs.operators.edges import EdgesActionOperator
    from airflow_provider_runs.operators.edges_rerun import EdgesRerunFailedInputsOperator

    phases = []
    try:
        emulator.control(
            "POST",
            "/scenarios",
            {
                "service": "edges",
                "count": 1,
                "scenario": {"fail_share": args.share, "error_label": "GENERIC_ERROR"},
            },
        )
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            source = work / "profiles.jsonl"
            with source.open("w") as handle:
                for i in range(args.n):
                    row = {
                        "linkedin_profile_url": f"https://www.linkedin.com/in/m-{i}",
                        "custom_data": {"id": i},
                    }
                    handle.write(json.dumps(row) + "\n")
            common = {"deferrable": False, "poll_interval": 0.5, "timeout": 3600}

            c0, t0 = edges_counters(emulator), time.perf_counter()
            first = EdgesActionOperator(
                task_id="enrich",
                action=ACTION,
                inputs_path=str(source),
                output_path=str(work / "out.jsonl"),
                failed_inputs_path=str(work / "failed.jsonl"),
                partial_success="succeed",
                **common,
            ).execute({"ti": _TI(1)})
            c1, t1 = edges_counters(emulator), time.perf_counter()
            phases.append({"phase": "first run", "wall_s": t1 - t0, **diff(c0, c1)})

            def rerun(task_id: str, **source_args: Any) -> EdgesRerunFailedInputsOperator:
                return EdgesRerunFailedInputsOperator(
                    task_id=task_id, partial_success="succeed", **source_args, **common
                )

            store = _Store()
            with contextlib.suppress(SystemExit):
                rerun("rerun", manifest=first).execute({"ti": _TI(1, True), "task_state_store": store})
            c2, t2 = edges_counters(emulator), time.perf_counter()
            phases.append({"phase": "rerun try 1 (killed after launch)", "wall_s": t2 - t1, **diff(c1, c2)})
            manifest = rerun("rerun", manifest=first).execute({"ti": _TI(2), "task_state_store": store})
            c3, t3 = edges_counters(emulator), time.perf_counter()
            phases.append({"phase": "rerun try 2 (reattached)", "wall_s": t3 - t2, **diff(c2, c3)})
            by_uid = rerun(
                "rerun_by_uid", run_uid=first["run_uid"], output_path=str(work / "uid.jsonl")
            ).execute({"ti": _TI(1), "task_state_store": _Store()})
            c4, t4 = edges_counters(emulator), time.perf_counter()
            phases.append({"phase": "rerun by run uid (service pages)", "wall_s": t4 - t3, **diff(c3, c4)})

            rerun_rows = len(Path(manifest["output_path"]).read_text().splitlines())
    finally:
        emulator.stop()
    checks = {
        "n": args.n,
        "first_failed": first["failed_inputs"],
        "rerun_sent": manifest["sent_inputs"],
        "rerun_inputs_received": phases[1]["inputs_received"] + phases[2]["inputs_received"],
        "runs_created_by_rerun_task": phases[1]["runs_created"] + phases[2]["runs_created"],
        "rerun_result_rows": rerun_rows,
        "merged": manifest["merged"],
        "rerun_by_uid_sent": by_uid["sent_inputs"],
    }
    assert checks["rerun_sent"] == checks["first_failed"] == checks["rerun_inputs_received"], checks
    assert checks["runs_created_by_rerun_task"] == 1, checks
    path = write_results("edges_rerun", {"phases": phases, "checks": checks})
    print_table(phases, ["phase", "wall_s", "runs_created", "inputs_received", "requests"])
    for phase in phases:
        print(f"{phase['phase']}: {phase['by_route']}")
    print(json.dumps(checks, indent=2))
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
