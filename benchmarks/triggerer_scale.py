"""Triggerer cost at scale: N concurrent waits in one event loop, three ways, same run.

- ``provider``: N ``RunStatusTrigger``s (what the triggerer runs for deferred tasks);
- ``floor``: a bare asyncio loop doing the same GETs (status each poll, the full task once at the
  end, as the provider does) through one shared aiohttp session;
- ``floor_coalesced`` (on request: ``--variants``): the floor with the provider's coalesced
  sleep (:mod:`airflow_provider_runs.core.timers`), to separate that gain from the rest;
- ``peer``: N ``HttpSensorTrigger``s (apache-airflow-providers-http) polling the same status,
  on an emulator route that answers 404 until the task ended (what that trigger waits for).

Each variant runs in a fresh child process against the emulator (a separate process) with the
same N, poll interval and task completion times; every child first loads Airflow and both
triggers' modules, as a triggerer process has them (the heap this makes is part of each poll's
cost: Python's garbage collector walks it). Reported per variant: client CPU per poll
(process CPU, not wall time), peak RSS and RSS per wait, completion-to-event lag (p50, p99),
and the emulator's CPU so that it is visibly not the bottleneck.

Usage: ``python benchmarks/triggerer_scale.py [--n 1000 5000 10000] [--poll 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EmulatorProcess, current_rss_kb, peak_rss_kb, percentile, print_table, write_results

KEY = "inf_bench_key_0123456789"
VARIANTS = ("floor", "provider", "provider_unbatched", "peer")


# -- child: one variant in one process ---------------------------------------------------
async def _staggered(index: int, poll: float, n: int) -> None:
    await asyncio.sleep(poll * index / max(1, n))  # triggers start spread over one interval


async def run_provider(ids, url, poll, events, batched=True):
    from airflow_provider_runs.hooks.inference_sh import InferenceShHook
    from airflow_provider_runs.triggers.run_status import RunStatusTrigger, class_path

    hook_class = InferenceShHook if batched else unbatched_hook()

    async def one(i, task_id):
        await _staggered(i, poll, len(ids))
        trigger = RunStatusTrigger(
            hook_class=class_path(hook_class),
            conn_id="inference_sh_default",
            run_id=task_id,
            poll_interval=poll,
        )
        async for event in trigger.run():
            events[task_id] = (time.time(), event.payload["status"]["state"])
            break

    await asyncio.gather(*(one(i, t) for i, t in enumerate(ids)))


def unbatched_hook() -> type:
    """The inference.sh hook without its batched read: the single-run path (each trigger its own
    GET), what every service without a batch read still takes."""
    from airflow_provider_runs.hooks.inference_sh import InferenceShHook

    if "UnbatchedInferenceShHook" not in globals():  # a module attribute: the trigger imports it by path
        attrs = {"batch_size": 0, "__module__": __name__}
        globals()["UnbatchedInferenceShHook"] = type("UnbatchedInferenceShHook", (InferenceShHook,), attrs)
    return globals()["UnbatchedInferenceShHook"]


async def run_provider_unbatched(ids, url, poll, events):
    """The provider on the single-run path (no shared poller)."""
    await run_provider(ids, url, poll, events, batched=False)


async def run_floor(ids, url, poll, events, sleep=asyncio.sleep):
    import aiohttp

    headers = {"Authorization": f"Bearer {KEY}"}
    async with aiohttp.ClientSession() as session:

        async def one(i, task_id):
            await _staggered(i, poll, len(ids))
            while True:
                async with session.get(f"{url}/inference-sh/tasks/{task_id}/status", headers=headers) as resp:
                    body = json.loads(await resp.read())
                if body["data"]["status"] >= 10:
                    # the same calls as the provider: the full task is read once at the end
                    async with session.get(f"{url}/inference-sh/tasks/{task_id}", headers=headers) as resp:
                        json.loads(await resp.read())
                    events[task_id] = (time.time(), "SUCCEEDED")
                    return
                await sleep(poll)

        await asyncio.gather(*(one(i, t) for i, t in enumerate(ids)))


async def run_floor_coalesced(ids, url, poll, events):
    """The floor with the provider's coalesced sleep: what the provider's own layers cost."""
    from airflow_provider_runs.core.timers import coalesced_sleep

    await run_floor(ids, url, poll, events, sleep=coalesced_sleep)


async def run_peer(ids, url, poll, events):
    from airflow.providers.http.triggers.http import HttpSensorTrigger

    async def one(i, task_id):
        await _staggered(i, poll, len(ids))
        trigger = HttpSensorTrigger(
            endpoint=f"_emulator/bench/tasks/{task_id}/status",
            http_conn_id="bench_http",
            headers={"Authorization": f"Bearer {KEY}"},
            poke_interval=poll,
        )
        async for _event in trigger.run():
            events[task_id] = (time.time(), "SUCCEEDED")
            break

    await asyncio.gather(*(one(i, t) for i, t in enumerate(ids)))


def _polls(url: str, variant: str) -> int:
    import requests

    counters = requests.get(f"{url}/_emulator/counters", timeout=30).json()
    return polls_made(counters, variant)


def child(args) -> None:
    """Create the tasks, then wait for all of them the ``variant`` way; print one JSON line."""
    import requests

    runner = {
        "provider": run_provider,
        "provider_unbatched": run_provider_unbatched,
        "floor": run_floor,
        "floor_coalesced": run_floor_coalesced,
        "peer": run_peer,
    }[args.variant]
    # Every variant runs in a process like a triggerer's: Airflow and both triggers' modules are
    # loaded before measuring. Their heap (~140 MB) makes Python's cyclic GC dearer for every
    # allocation a poll makes; a floor process without it would leave that cost to the others.
    import aiohttp  # noqa: F401
    import airflow.providers.http.triggers.http  # noqa: F401

    import airflow_provider_runs.triggers.run_status  # noqa: F401

    rng = random.Random(args.n)
    durations = [args.duration + rng.uniform(0, args.spread) for _ in range(args.n)]
    created = requests.post(
        f"{args.url}/_emulator/bench/tasks", json={"durations": durations}, timeout=600
    ).json()
    ids, done_at = created["ids"], created["done_at"]
    baseline_rss = current_rss_kb()
    events: dict[str, tuple[float, str]] = {}
    marks: dict[str, float] = {}

    async def measured():
        async def mark_steady():
            # after every wait started and polled once: the rest is the steady state
            await asyncio.sleep(args.poll * 1.5)
            marks["cpu"], marks["polls"] = (
                time.process_time(),
                await asyncio.to_thread(_polls, args.url, args.variant),
            )

        marker = asyncio.create_task(mark_steady())
        await runner(ids, args.url, args.poll, events)
        await marker

    cpu0, wall0 = time.process_time(), time.time()
    asyncio.run(measured())
    cpu, wall = time.process_time() - cpu0, time.time() - wall0
    polls = _polls(args.url, args.variant)
    lags = [events[t][0] - d for t, d in zip(ids, done_at, strict=True) if t in events]
    steady_polls = polls - marks["polls"]
    print(
        json.dumps(
            {
                "cpu_s": cpu,
                "wall_s": wall,
                "baseline_rss_kb": baseline_rss,
                "peak_rss_kb": peak_rss_kb(),
                "polls": polls,
                "steady_polls": steady_polls,
                "steady_cpu_per_poll_us": 1e6 * (time.process_time() - marks["cpu"]) / max(1, steady_polls),
                "events": len(events),
                "succeeded": sum(1 for v in events.values() if v[1] == "SUCCEEDED"),
                "lag_p50_s": percentile(lags, 50),
                "lag_p99_s": percentile(lags, 99),
                "lag_max_s": max(lags, default=None),
            }
        )
    )


# -- parent: orchestrate ---------------------------------------------------------------------
def polls_made(counters: dict, variant: str) -> int:
    requests = counters["inference_sh"]["requests"]
    if variant == "peer":
        return counters.get("bench", {}).get("status_polls", 0) or requests.get("bench", 0)
    # A batched read (``POST /tasks/list`` with an ``id in`` filter) polls each listed task once.
    listed = counters["inference_sh"].get("ids_listed", 0) if variant.startswith("provider") else 0
    return requests.get("GET /tasks/{task_id}/status", 0) + listed


def median_runs(rows: list[dict], ns: list[int], variants: list[str]) -> list[dict]:
    """Per N and variant, the run with the median steady CPU per poll, with the spread of all runs."""
    chosen = []
    for n in ns:
        for variant in variants:
            runs = sorted(
                (r for r in rows if r["n"] == n and r["variant"] == variant),
                key=lambda r: r["steady_cpu_per_poll_us"],
            )
            if runs:
                row = dict(runs[(len(runs) - 1) // 2])
                row["runs"] = len(runs)
                row["steady_min_us"] = runs[0]["steady_cpu_per_poll_us"]
                row["steady_max_us"] = runs[-1]["steady_cpu_per_poll_us"]
                chosen.append(row)
    return chosen


def round_ratios(runs: list[dict], n: int) -> dict[str, str]:
    """The same ratios within each round (the k-th run of each variant), as "min-max" texts."""
    by_variant: dict[str, list[dict]] = {}
    for run in runs:
        if run["n"] == n:
            by_variant.setdefault(run["variant"], []).append(run)
    key = "steady_cpu_per_poll_us"
    pairs = {
        "rounds_provider_vs_floor": ("provider", "floor"),
        "rounds_peer_vs_provider": ("peer", "provider"),
    }
    spans = {}
    for name, (top, bottom) in pairs.items():
        values = [
            a[key] / b[key] for a, b in zip(by_variant.get(top, []), by_variant.get(bottom, []), strict=False)
        ]
        if values:
            spans[name] = f"{min(values):.2f}-{max(values):.2f}"
    return spans


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd")
    c = sub.add_parser("child")
    c.add_argument("--variant", required=True)
    c.add_argument("--url", required=True)
    c.add_argument("--poll", type=float, required=True)
    c.add_argument("--n", type=int, required=True)
    c.add_argument("--duration", type=float, required=True)
    c.add_argument("--spread", type=float, required=True)
    parser.add_argument("--ns", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--poll", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=40.0, help="shortest task duration (s)")
    parser.add_argument("--spread", type=float, default=10.0, help="completion times spread (s)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per N and variant, interleaved; the run with the median steady CPU per poll is reported",
    )
    args = parser.parse_args()
    if args.cmd == "child":
        child(args)
        return
    emulator = EmulatorProcess("--inference-sh-key", KEY, "--inference-sh-limits", "unlimited")
    rows = []
    try:
        env = {
            **os.environ,
            "AIRFLOW_CONN_INFERENCE_SH_DEFAULT": json.dumps(
                {
                    "conn_type": "inference_sh",
                    "host": emulator.url + "/inference-sh",
                    "password": KEY,
                    "extra": {"requests_per_minute": 0},
                }
            ),
            "AIRFLOW_CONN_BENCH_HTTP": json.dumps(
                {
                    "conn_type": "http",
                    "host": emulator.url.split("//")[1].split(":")[0],
                    "port": int(emulator.url.rsplit(":", 1)[1]),
                    "schema": "http",
                }
            ),
        }
        runs = [(n, variant) for n in args.ns for _ in range(args.repeat) for variant in args.variants]
        for n, variant in runs:
            emulator.control("POST", "/reset")
            emu_cpu0 = emulator.cpu_seconds()
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "child",
                    "--variant",
                    variant,
                    "--url",
                    emulator.url,
                    "--poll",
                    str(args.poll),
                    "--n",
                    str(n),
                    "--duration",
                    str(args.duration),
                    "--spread",
                    str(args.spread),
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=3600,
            )
            if out.returncode != 0:
                raise RuntimeError(f"{variant} n={n} failed:\n{out.stderr[-3000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result.update(
                variant=variant,
                n=n,
                poll_s=args.poll,
                cpu_per_poll_us=1e6 * result["cpu_s"] / max(1, result["polls"]),
                rss_per_wait_kb=(result["peak_rss_kb"] - result["baseline_rss_kb"]) / n,
                emulator_cpu_s=emulator.cpu_seconds() - emu_cpu0,
            )
            result["emulator_cpu_share"] = result["emulator_cpu_s"] / max(result["wall_s"], 1e-9)
            rows.append(result)
            print(
                f"{variant:<9} n={n:<6} cpu/poll={result['cpu_per_poll_us']:.0f}us "
                f"steady={result['steady_cpu_per_poll_us']:.0f}us "
                f"rss/wait={result['rss_per_wait_kb']:.1f}KB lag p99={result['lag_p99_s']:.2f}s "
                f"events={result['events']}/{n}",
                flush=True,
            )
    finally:
        emulator.stop()
    every_run, rows = rows, median_runs(rows, args.ns, args.variants)
    ratios = []
    for n in args.ns:
        by = {r["variant"]: r for r in rows if r["n"] == n}
        if "floor" in by and "provider" in by:
            key = "steady_cpu_per_poll_us"
            ratio = {
                "n": n,
                "provider_vs_floor": by["provider"][key] / by["floor"][key],
                "provider_vs_floor_total": by["provider"]["cpu_per_poll_us"] / by["floor"]["cpu_per_poll_us"],
            }
            if "provider_unbatched" in by:  # the single-run path, as before the shared poller
                ratio["unbatched_vs_floor"] = by["provider_unbatched"][key] / by["floor"][key]
            if "floor_coalesced" in by:
                ratio["provider_vs_floor_coalesced"] = by["provider"][key] / by["floor_coalesced"][key]
            if "peer" in by:
                ratio["peer_vs_provider"] = by["peer"][key] / by["provider"][key]
                ratio["peer_vs_provider_total"] = (
                    by["peer"]["cpu_per_poll_us"] / by["provider"]["cpu_per_poll_us"]
                )
            ratio.update(round_ratios(every_run, n))
            ratios.append(ratio)
    path = write_results(
        "triggerer_scale",
        {"rows": rows, "ratios": ratios, "poll_s": args.poll, "repeat": args.repeat, "every_run": every_run},
    )
    print()
    columns = ["variant", "n", "runs", "polls", "cpu_per_poll_us", "steady_cpu_per_poll_us", "steady_min_us",
               "steady_max_us", "peak_rss_kb",
               "rss_per_wait_kb", "lag_p50_s", "lag_p99_s", "events", "emulator_cpu_share"]  # fmt: skip
    print_table(rows, columns)
    print()
    print_table(ratios, ["n", "provider_vs_floor", "unbatched_vs_floor", "provider_vs_floor_total",
                         "provider_vs_floor_coalesced",
                         "peer_vs_provider", "peer_vs_provider_total", "rounds_provider_vs_floor",
                         "rounds_peer_vs_provider"])  # fmt: skip
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
