"""Waiting at scale inside the services' request budgets: many runs, one budget, same run.

Scenarios (``--scenarios``, each ``service:tier:N[:P[:split|full]]``; P processes wait for N/P
runs each against the one budget, each set to the budget / P (``split``) or to the whole budget
(``full``: only the 429 adaptation shares it):

- Edges on the Trial (30/min) and Silver (150/min) budgets: the emulator meters every
  ``/v1/runs/*`` route together and answers 429 without ``Retry-After``, like the service;
- inference.sh unmetered, up to 10,000 runs.

For each scenario a fresh child process waits for N runs with N ``RunStatusTrigger``s (what the
triggerer runs for N deferred tasks; the connection sets ``requests_per_minute`` to the budget),
and, for inference.sh, a second child does the per-run floor: a bare aiohttp loop that GETs each
run's status every poll (what polling run by run costs at the least). Reported per scenario:
requests per sweep (one poll interval), the refused share (429s / metered requests), tasks failed,
completion-to-event lag p50/p99, and client CPU per waiting run per poll (process CPU, steady
state) next to the floor's CPU per poll in the same run.

Usage: ``python benchmarks/budget_scale.py [--scenarios edges:silver:1000 ...] [--poll 5]``
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
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import EmulatorProcess, percentile, print_table, write_results

KEYS = {"inference_sh": "inf_bench_key_0123456789", "edges": "edges_emulator_key"}  # the emulator's Edges key
TIER_BUDGET = {"trial": 30, "bronze": 60, "silver": 150, "gold": 150, "platinum": 300, "titanium": 600}
DEFAULT_SCENARIOS = [
    "edges:trial:100",
    "edges:silver:100",
    "edges:silver:1000",
    "edges:silver:1000:2:split",
    "edges:silver:1000:2:full",
    "inference_sh:unlimited:100",
    "inference_sh:unlimited:1000",
    "inference_sh:unlimited:10000",
]
STATUS_ROUTES = {
    "edges": ("GET /v1/runs", "GET /v1/runs/{uid}", "GET /v1/runs/{uid}/status"),
    "inference_sh": ("POST /tasks/list", "GET /tasks/{task_id}/status", "GET /tasks/{task_id}"),
}


# -- child: one way of waiting, in its own process -----------------------------------------------
async def wait_provider(service: str, ids: list[str], poll: float, events: dict) -> None:
    from airflow_provider_runs.hooks.edges import EdgesHook
    from airflow_provider_runs.hooks.inference_sh import InferenceShHook
    from airflow_provider_runs.triggers.run_status import RunStatusTrigger, class_path

    hook = EdgesHook if service == "edges" else InferenceShHook

    async def one(i: int, run_id: str) -> None:
        await asyncio.sleep(poll * i / max(1, len(ids)))  # deferred over one interval, as tasks are
        trigger = RunStatusTrigger(
            hook_class=class_path(hook),
            conn_id=f"{service}_default",
            run_id=run_id,
            poll_interval=poll,
            max_consecutive_failures=10,
        )
        async for event in trigger.run():
            payload = event.payload
            state = (payload.get("status") or {}).get("state") if payload.get("event") == "status" else None
            events[run_id] = (time.time(), state or payload.get("event"), payload.get("message"))
            break

    await asyncio.gather(*(one(i, r) for i, r in enumerate(ids)))


async def wait_floor(service: str, ids: list[str], poll: float, events: dict, url: str) -> None:
    """Run by run, the least a client can do: one status GET per run per poll."""
    import aiohttp

    headers = {"Authorization": f"Bearer {KEYS['inference_sh']}"}
    async with aiohttp.ClientSession() as session:

        async def one(i: int, run_id: str) -> None:
            await asyncio.sleep(poll * i / max(1, len(ids)))
            while True:
                async with session.get(f"{url}/inference-sh/tasks/{run_id}/status", headers=headers) as resp:
                    body = json.loads(await resp.read())
                if body["data"]["status"] >= 10:
                    events[run_id] = (time.time(), "SUCCEEDED", None)
                    return
                await asyncio.sleep(poll)

        await asyncio.gather(*(one(i, r) for i, r in enumerate(ids)))


def counters(url: str) -> dict:
    import requests

    return requests.get(f"{url}/_emulator/counters", timeout=60).json()


def status_requests(snapshot: dict, service: str) -> int:
    """Requests a wait makes (status reads, batched or not) according to the emulator."""
    routes = snapshot[service]["requests"]
    return sum(v for k, v in routes.items() if k in STATUS_ROUTES[service])


def child(args: argparse.Namespace) -> None:
    """Wait for the runs in ``--ids-file`` the ``--variant`` way; print one JSON line."""
    import aiohttp  # noqa: F401  (a triggerer has these loaded: their heap is part of the cost)

    import airflow_provider_runs.triggers.run_status  # noqa: F401

    spec = json.loads(Path(args.ids_file).read_text())
    ids, service, poll = spec["ids"], args.service, args.poll
    events: dict[str, tuple[float, str, str | None]] = {}
    marks: dict[str, float] = {}

    async def measured() -> None:
        async def mark(name: str, delay: float) -> None:
            await asyncio.sleep(delay)
            snap = await asyncio.to_thread(counters, args.url)
            marks[f"{name}_cpu"], marks[f"{name}_wall"] = time.process_time(), time.time()
            marks[f"{name}_requests"] = status_requests(snap, service)
            marks[f"{name}_waiting"] = len(ids) - len(events)

        # The steady window: every wait has started and polled once, and no run has ended yet.
        steady_end = max(poll * 2.5, spec["first_done_in"] - 0.5)
        markers = [asyncio.create_task(mark("start", poll * 1.5))]
        markers.append(asyncio.create_task(mark("end", steady_end)))
        if args.variant == "floor":
            await wait_floor(service, ids, poll, events, args.url)
        else:
            await wait_provider(service, ids, poll, events)
        await asyncio.gather(*markers)

    cpu0, wall0 = time.process_time(), time.time()
    asyncio.run(measured())
    cpu, wall = time.process_time() - cpu0, time.time() - wall0
    window = marks["end_wall"] - marks["start_wall"]
    sweeps = window / poll
    waiting = (marks["start_waiting"] + marks["end_waiting"]) / 2
    requests_in_window = marks["end_requests"] - marks["start_requests"]
    steady_cpu = marks["end_cpu"] - marks["start_cpu"]
    done_at = dict(zip(ids, spec["done_at"], strict=True))
    lags = [events[r][0] - done_at[r] for r in ids if r in events and events[r][1] == "SUCCEEDED"]
    failures = [m for _, s, m in events.values() if s != "SUCCEEDED"]
    print(
        json.dumps(
            {
                "cpu_s": cpu,
                "wall_s": wall,
                "events": len(events),
                "failed": len(failures) + (len(ids) - len(events)),
                "failure_sample": failures[:3],
                "steady_window_s": window,
                "requests_per_sweep": requests_in_window / max(sweeps, 1e-9),
                "runs_per_request": waiting * sweeps / max(requests_in_window, 1),
                "cpu_per_run_poll_us": 1e6 * steady_cpu / max(waiting * sweeps, 1),
                "lag_p50_s": percentile(lags, 50),
                "lag_p99_s": percentile(lags, 99),
                "lag_max_s": max(lags, default=None),
                "lags": [round(x, 3) for x in lags],
            }
        )
    )


# -- parent: set up each scenario, run its children ---------------------------------------------
def create_runs(emulator: EmulatorProcess, service: str, n: int, duration: float, spread: float) -> dict:
    """Create ``n`` runs that end ``duration`` to ``duration + spread`` seconds from now."""
    rng = random.Random(n)
    durations = [duration + rng.uniform(0, spread) for _ in range(n)]
    if service == "inference_sh":
        created = emulator.control("POST", "/bench/tasks", {"durations": durations})
        return {"ids": created["ids"], "done_at": created["done_at"]}
    import requests

    session = requests.Session()
    session.headers.update({"X-API-Key": KEYS["edges"], "Content-Type": "application/json"})
    ids, done_at = [], []
    for i, seconds in enumerate(durations):  # launches are not metered (not a /runs route)
        body = {
            "inputs": [{"linkedin_profile_url": f"https://www.linkedin.com/in/bench-{i}"}],
            "identity_mode": "managed",
            "callback": {"url": "https://no-callback.invalid/", "on": "final"},
            "parameters": {"_emulator": {"duration": seconds, "final_status": "SUCCEEDED", "tag": f"b{i}"}},
        }
        resp = session.post(f"{emulator.url}/edges/v1/actions/linkedin-extract-people/run/async", json=body)
        resp.raise_for_status()
        ids.append(resp.json()["run_uid"])
        done_at.append(time.time() + seconds)
    return {"ids": ids, "done_at": done_at}


def finished_times(emulator: EmulatorProcess, ids: list[str], done_at: list[float]) -> list[float]:
    """Edges runs' real end (``finished_at``), read once the benchmark is over (unmetered)."""
    import requests

    emulator.control("POST", "/limits", {"edges": {"tier": "unlimited"}})
    out = []
    for uid, planned in zip(ids, done_at, strict=True):
        run = requests.get(
            f"{emulator.url}/edges/v1/runs/{uid}", headers={"X-API-Key": KEYS["edges"]}, timeout=30
        ).json()
        end = run.get("finished_at")
        out.append(datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp() if end else planned)
    return out


def run_children(args, variant: str, service: str, url: str, ids_files: list[Path], env: dict) -> dict:
    """One child per ids file, all at once (several triggerers against one budget); merged."""
    base = [sys.executable, __file__, "child", "--variant", variant, "--service", service, "--url", url,
            "--poll", str(args.poll), "--ids-file"]  # fmt: skip
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    procs = [subprocess.Popen([*base, str(path)], env=env, **pipes) for path in ids_files]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"{variant} {service} failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    if len(results) == 1:
        return results[0]
    lags = [x for r in results for x in r["lags"]]
    merged = dict(results[0])  # requests per sweep: every child sees the same emulator counters
    merged.update(
        cpu_s=sum(r["cpu_s"] for r in results),
        events=sum(r["events"] for r in results),
        failed=sum(r["failed"] for r in results),
        failure_sample=[m for r in results for m in r["failure_sample"]][:3],
        cpu_per_run_poll_us=sum(r["cpu_per_run_poll_us"] for r in results) / len(results),
        lag_p50_s=percentile(lags, 50),
        lag_p99_s=percentile(lags, 99),
        lag_max_s=max(lags, default=None),
        lags=lags,
    )
    return merged


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd")
    c = sub.add_parser("child")
    for name in ("--variant", "--service", "--url", "--ids-file"):
        c.add_argument(name, required=True)
    c.add_argument("--poll", type=float, required=True)
    parser.add_argument("--scenarios", nargs="+", default=DEFAULT_SCENARIOS)
    parser.add_argument("--poll", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=30.0, help="shortest run duration (s)")
    parser.add_argument("--spread", type=float, default=10.0, help="completion times spread (s)")
    args = parser.parse_args()
    if args.cmd == "child":
        child(args)
        return
    emulator = EmulatorProcess("--inference-sh-key", KEYS["inference_sh"])
    rows = []
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"budget-bench-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        for scenario in args.scenarios:
            service, tier, n_text, *more = scenario.split(":")
            n, processes = int(n_text), int(more[0]) if more else 1
            split = len(more) < 2 or more[1] == "split"  # "full": every process set to the whole budget
            budget = TIER_BUDGET.get(tier, 0)
            setting = budget / processes if split else budget
            extra = {"requests_per_minute": setting}  # inference.sh: unmetered here (0: no limit)
            host = emulator.url + ("/edges/v1" if service == "edges" else "/inference-sh")
            conn = {"conn_type": service, "host": host, "password": KEYS[service],
                    "extra": {**extra, "identity_mode": "managed"}}  # fmt: skip
            env = {**os.environ, f"AIRFLOW_CONN_{service.upper()}_DEFAULT": json.dumps(conn)}
            variants = ["provider", "floor"] if service == "inference_sh" else ["provider"]
            for variant in variants:
                emulator.control("POST", "/reset")
                emulator.control("POST", "/limits", {service: {"tier": "unlimited"}})
                created = create_runs(emulator, service, n, args.duration, args.spread)
                created["first_done_in"] = min(created["done_at"]) - time.time()
                emulator.control("POST", "/limits", {service: {"tier": tier}})
                before = emulator.control("GET", "/counters")
                ids_files = []
                for k in range(processes):  # each process waits for its share of the runs
                    part = {key: created[key][k::processes] for key in ("ids", "done_at")}
                    part["first_done_in"] = created["first_done_in"]
                    ids_files.append(work / f"{service}-{n}-{variant}-{k}.json")
                    ids_files[-1].write_text(json.dumps(part))
                result = run_children(args, variant, service, emulator.url, ids_files, env)
                result.pop("lags", None)
                after = emulator.control("GET", "/counters")
                metered = after[service].get("metered", 0) - before[service].get("metered", 0)
                refused = after[service].get("rate_limited", 0) - before[service].get("rate_limited", 0)
                if service == "edges" and result["lag_p50_s"] is not None:
                    ends = finished_times(emulator, created["ids"], created["done_at"])
                    pairs = zip(ends, created["done_at"], strict=True)
                    result["planned_vs_finished_s"] = max(abs(a - b) for a, b in pairs)
                result.update(
                    scenario=scenario, variant=variant, n=n, poll_s=args.poll, budget_per_min=budget or None,
                    processes=processes, setting_per_process=setting or None,
                    refused_share=refused / metered if metered else 0.0, requests_refused=refused,
                    requests_metered=metered,
                )  # fmt: skip
                rows.append(result)
                print(
                    f"{scenario:<28} {variant:<8} req/sweep={result['requests_per_sweep']:.1f} "
                    f"refused={result['refused_share']:.1%} failed={result['failed']} "
                    f"lag p50/p99={result['lag_p50_s']}/{result['lag_p99_s']} "
                    f"cpu/run/poll={result['cpu_per_run_poll_us']:.0f}us",
                    flush=True,
                )
    finally:
        emulator.stop()
    floors = {r["n"]: r for r in rows if r["variant"] == "floor"}
    for row in rows:
        floor = floors.get(row["n"]) if row["scenario"].startswith("inference_sh") else None
        if floor and row["variant"] == "provider":
            row["cpu_vs_floor"] = row["cpu_per_run_poll_us"] / floor["cpu_per_run_poll_us"]
    path = write_results("budget_scale", {"rows": rows, "poll_s": args.poll})
    print()
    columns = ["scenario", "variant", "setting_per_process", "requests_per_sweep", "runs_per_request",
               "refused_share", "failed", "lag_p50_s", "lag_p99_s", "cpu_per_run_poll_us",
               "cpu_vs_floor"]  # fmt: skip
    print_table(rows, columns)
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
