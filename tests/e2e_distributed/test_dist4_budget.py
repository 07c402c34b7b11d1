"""Scenario 4: the per-connection request budget across processes. Twenty Edges tasks wait on the
``edges_budget`` connection (``requests_per_minute`` = ``BUDGET_RPM``); the emulator's request
counters, sampled every second, give the rate it saw from both triggerers and both workers.

Each triggerer has its own budget for the connection (README, "Request budget"), so while every
task waits (only the triggerers poll) the rate is at most ``BUDGET_RPM`` per triggerer holding
triggers; without a budget, batch polls every second would be about 60 a minute per triggerer.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from distributed_scenarios import BUDGET_CONN_ID, BUDGET_RPM, BUDGET_SECONDS, BUDGET_TASKS
from distributed_stack import DistributedStack
from results import RESULTS, Timer
from stack import TERMINAL_RUN_STATES, wait_until

pytestmark = pytest.mark.timeout(900)

DAG_ID = "dist_budget"
STEADY_SECONDS = 40.0
"""The window, once every task waits, over which the triggerers' poll rate is measured."""


def _edges_requests(stack: DistributedStack) -> tuple[int, int]:
    """(every Edges request, the metered ``/v1/runs`` ones) the emulator has counted."""
    requests = stack.counters()["edges"]["requests"]
    return sum(requests.values()), sum(n for route, n in requests.items() if "/runs" in route)


def _peak_per_minute(samples: list[tuple[float, int]]) -> int:
    """The most requests in any 60 s window of the samples."""
    peak = 0
    for i, (start, count) in enumerate(samples):
        inside = [c for t, c in samples[i:] if t - start <= 60.0]
        peak = max(peak, inside[-1] - count)
    return peak


def test_request_rate_against_the_connection_budget(stack: DistributedStack):
    stack.wait_for_dag(DAG_ID)
    before = stack.counters()["edges"]
    samples: list[tuple[float, int]] = []
    runs_samples: list[tuple[float, int]] = []
    with Timer() as timer:
        run_id = stack.trigger(DAG_ID)

        def all_held() -> dict[str, str] | None:
            stack.check_alive()
            held = stack.holders(DAG_ID, run_id)
            return held if len(held) == BUDGET_TASKS else None

        held = wait_until(all_held, 300, "every budget task deferred and held", interval=1)
        time.sleep(5)  # the burst each triggerer starts with is spent
        steady_from = time.monotonic()
        while time.monotonic() - steady_from < STEADY_SECONDS:
            total, runs = _edges_requests(stack)
            samples.append((time.monotonic(), total))
            runs_samples.append((time.monotonic(), runs))
            time.sleep(1)

        def ended() -> dict[str, Any] | None:
            stack.check_alive()
            total, runs = _edges_requests(stack)
            samples.append((time.monotonic(), total))
            runs_samples.append((time.monotonic(), runs))
            run = stack.dag_run(DAG_ID, run_id)
            return run if run["state"] in TERMINAL_RUN_STATES else None

        run = wait_until(ended, 400, f"end of {DAG_ID}", interval=1)
    after = stack.counters()["edges"]
    steady = [(t, c) for t, c in samples if t - steady_from <= STEADY_SECONDS]
    steady_rate = (steady[-1][1] - steady[0][1]) * 60.0 / (steady[-1][0] - steady[0][0])
    polling = sorted(set(held.values()))
    bound = len(polling) * BUDGET_RPM
    RESULTS["4_request_budget"] = {
        "wall_seconds": timer.seconds,
        "connection": BUDGET_CONN_ID,
        "requests_per_minute_per_process": BUDGET_RPM,
        "tasks": BUDGET_TASKS,
        "remote_run_seconds": BUDGET_SECONDS,
        "triggerers_holding": {name: list(held.values()).count(name) for name in polling},
        "steady_rate_per_minute_all_waiting": round(steady_rate, 1),
        "steady_bound_per_minute": bound,
        "peak_60s_all_requests": _peak_per_minute(samples),
        "peak_60s_runs_requests": _peak_per_minute(runs_samples),
        "requests_total": sum(after["requests"].values()) - sum(before["requests"].values()),
        "requests_by_route": {
            route: n - before["requests"].get(route, 0)
            for route, n in after["requests"].items()
            if n - before["requests"].get(route, 0)
        },
        "emulator_429s": after.get("rate_limited", 0) - before.get("rate_limited", 0),
        "dag_run": run["state"],
    }

    assert run["state"] == "success", RESULTS["4_request_budget"]
    # While only the triggerers poll, each spends its own budget: at most BUDGET_RPM a minute per
    # triggerer holding triggers (10 % and one burst of slack); unbudgeted it would be ~60 each.
    assert steady_rate <= bound * 1.1 + 2, RESULTS["4_request_budget"]
    assert steady_rate > 0, "nothing polled while the tasks waited"
    assert RESULTS["4_request_budget"]["emulator_429s"] == 0
