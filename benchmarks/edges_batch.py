"""Edges batch: submit N inputs from a JSON-lines file, collect N results to a file.

For N = 10k, 50k, 100k (each in its own process): wall time, the client's peak RSS against the
input file's size, and RSS growth with N (the inputs and results are streamed, never all in
memory). The emulator runs in a separate process, fast-forwarded so that the run itself is short.

Usage: ``python benchmarks/edges_batch.py [--ns 10000 50000 100000]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EmulatorProcess, current_rss_kb, peak_rss_kb, print_table, write_results

KEY = "edges_emulator_key"


class _TI:
    try_number, map_index, run_id, dag_id = 1, -1, "bench", "bench"

    def xcom_push(self, key, value):
        pass


def child(n: int, workdir: Path) -> dict:
    from airflow_provider_runs.operators.edges import EdgesActionOperator

    source = workdir / f"inputs-{n}.jsonl"
    with source.open("w") as handle:
        for i in range(n):
            row = {
                "linkedin_profile_url": f"https://www.linkedin.com/in/member-{i}",
                "custom_data": {"crm_id": i},
            }
            handle.write(json.dumps(row) + "\n")
    output = workdir / f"out-{n}.jsonl"
    baseline = current_rss_kb()
    op = EdgesActionOperator(
        task_id="bench",
        action="linkedin-extract-people",
        inputs_path=str(source),
        output_path=str(output),
        failed_inputs_path=str(workdir / f"failed-{n}.jsonl"),
        deferrable=False,
        poll_interval=0.5,
        timeout=3600,
    )
    started = time.perf_counter()
    manifest = op.execute({"ti": _TI()})
    wall = time.perf_counter() - started
    lines = sum(1 for _ in output.open())
    return {
        "n": n,
        "wall_s": wall,
        "input_file_kb": source.stat().st_size // 1024,
        "results": lines,
        "manifest_results": manifest["results"],
        "baseline_rss_kb": baseline,
        "peak_rss_kb": peak_rss_kb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ns", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--child", type=int)
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, Path(args.workdir))))
        return
    emulator = EmulatorProcess("--time-scale", "200", "--edges-tier", "unlimited")  # cost, not metering
    rows = []
    try:
        env = {
            **os.environ,
            "AIRFLOW_CONN_EDGES_DEFAULT": json.dumps(
                {
                    "conn_type": "edges",
                    "host": emulator.url + "/edges/v1",
                    "password": KEY,
                    "extra": {"identity_mode": "managed", "requests_per_minute": 0},
                }
            ),
        }
        with tempfile.TemporaryDirectory() as workdir:
            for n in args.ns:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(n), "--workdir", workdir],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=3600,
                )
                if out.returncode != 0:
                    raise RuntimeError(out.stderr[-3000:])
                row = json.loads(out.stdout.strip().splitlines()[-1])
                row["rss_growth_kb"] = row["peak_rss_kb"] - row["baseline_rss_kb"]
                row["peak_rss_vs_input"] = row["peak_rss_kb"] / max(1, row["input_file_kb"])
                row["growth_vs_input"] = row["rss_growth_kb"] / max(1, row["input_file_kb"])
                rows.append(row)
                print(
                    f"n={n}: {row['wall_s']:.1f}s, results={row['results']}, "
                    f"peak RSS {row['peak_rss_kb']} KB "
                    f"(growth {row['rss_growth_kb']} KB) for a {row['input_file_kb']} KB file",
                    flush=True,
                )
    finally:
        emulator.stop()
    path = write_results("edges_batch", {"rows": rows})
    print()
    print_table(
        rows,
        [
            "n",
            "wall_s",
            "results",
            "input_file_kb",
            "baseline_rss_kb",
            "peak_rss_kb",
            "rss_growth_kb",
            "peak_rss_vs_input",
            "growth_vs_input",
        ],
    )
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
