"""Per-task overhead of the non-deferrable path, against a bare requests loop (same calls).

Each iteration runs one ``InferenceShTaskOperator`` (``deferrable=False``) for a task that
completes instantly: create, poll, read the result. The baseline does the same three HTTP
calls with ``requests`` and one session. Reported: CPU and wall time per task, and the
difference (the provider's overhead per task).

Usage: ``python benchmarks/sync_overhead.py [--tasks 200]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EmulatorProcess, print_table, write_results

KEY = "inf_bench_key_0123456789"


class _TI:
    try_number = 1

    def xcom_push(self, key, value):
        pass


def provider_tasks(url: str, count: int) -> tuple[float, float]:
    from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(count):
        op = InferenceShTaskOperator(
            task_id=f"t{i}", app="acme/echo@v1", input={"text": f"n{i}", "_emulator": {"duration": 0}},
            deferrable=False, poll_interval=0.01,
        )  # fmt: skip
        manifest = op.execute({"ti": _TI()})
        assert manifest["status"] == "completed", manifest
    return time.process_time() - cpu0, time.perf_counter() - wall0


def bare_tasks(url: str, count: int) -> tuple[float, float]:
    import requests

    session = requests.Session()
    headers = {"Authorization": f"Bearer {KEY}"}
    base = url + "/inference-sh"
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(count):
        body = {
            "app": "acme/echo@v1",
            "input": {"text": f"n{i}", "_emulator": {"duration": 0}},
            "wait": False,
        }
        task = session.post(f"{base}/run?wait=false", json=body, headers=headers, timeout=30).json()["data"]
        while (
            session.get(f"{base}/tasks/{task['id']}/status", headers=headers, timeout=30).json()["data"][
                "status"
            ]
            < 10
        ):
            time.sleep(0.01)
        full = session.get(f"{base}/tasks/{task['id']}", headers=headers, timeout=30).json()["data"]
        assert full["status"] == 10
    return time.process_time() - cpu0, time.perf_counter() - wall0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=200)
    args = parser.parse_args()
    emulator = EmulatorProcess("--inference-sh-key", KEY, "--inference-sh-limits", "unlimited")
    try:
        os.environ["AIRFLOW_CONN_INFERENCE_SH_DEFAULT"] = json.dumps(
            {
                "conn_type": "inference_sh",
                "host": emulator.url + "/inference-sh",
                "password": KEY,
                "extra": {"requests_per_minute": 0},
            }
        )
        provider_tasks(emulator.url, 5)  # warm imports and connections
        bare_tasks(emulator.url, 5)
        rows = []
        for name, runner in (("bare", bare_tasks), ("provider", provider_tasks)):
            cpu, wall = runner(emulator.url, args.tasks)
            rows.append({"variant": name, "tasks": args.tasks, "cpu_ms_per_task": 1e3 * cpu / args.tasks,
                         "wall_ms_per_task": 1e3 * wall / args.tasks})  # fmt: skip
    finally:
        emulator.stop()
    overhead = {
        "cpu_ms_per_task": rows[1]["cpu_ms_per_task"] - rows[0]["cpu_ms_per_task"],
        "wall_ms_per_task": rows[1]["wall_ms_per_task"] - rows[0]["wall_ms_per_task"],
    }
    path = write_results("sync_overhead", {"rows": rows, "overhead": overhead})
    print_table(rows, ["variant", "tasks", "cpu_ms_per_task", "wall_ms_per_task"])
    cpu, wall = overhead["cpu_ms_per_task"], overhead["wall_ms_per_task"]
    print(f"\noverhead per task: {cpu:.1f} ms CPU, {wall:.1f} ms wall")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
