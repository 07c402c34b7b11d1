"""The shared status poller's scheduling, in pure asyncio (a fake hook, no HTTP)."""

from __future__ import annotations

import asyncio
import math
import random
import time

import pytest

from airflow_provider_runs.core.errors import TransientError
from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.hooks.base import RunsHook
from airflow_provider_runs.triggers.poller import (
    PULL_FORWARD,
    StatusPoller,
    _Ask,
    plan_batches,
    status_poller,
)


class FakeHook:
    """Answers every run it is asked for (but those in ``missing``), records each call."""

    def __init__(self, batch_size=100, missing=(), error=None, gate=None):
        self.batch_size = batch_size
        self.missing = set(missing)
        self.error = error
        self.gate = gate
        self.calls: list[tuple[float, list[str]]] = []
        self.cancelled = 0
        self.limiter = None

    def request_limiter(self):
        return self.limiter

    def batch_cost(self, run_id):
        return len(run_id.split(","))

    async def abatch_status(self, run_ids):
        self.calls.append((time.monotonic(), list(run_ids)))
        try:
            if self.gate is not None:
                await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.error is not None:
            raise self.error
        return {
            r: RunStatus(RunState.RUNNING, "RUNNING", None, {"run": r})
            for r in run_ids
            if r not in self.missing
        }


def ask(run_id, due, earliest=None, cost=1):
    return _Ask(run_id, due, due if earliest is None else earliest, cost, None)


def test_plan_packs_due_runs_then_fills_the_last_batch_with_early_ones():
    due = [ask(f"r{i}", 1.0) for i in range(250)]
    early = [ask(f"e{i}", 2.0 + i, earliest=0.5) for i in range(80)]
    batches = plan_batches(due, early, 100)
    assert [b.cost for b in batches] == [100, 100, 100]
    assert [r for r in batches[2].asks if r.startswith("e")] == [f"e{i}" for i in range(50)]


def test_plan_sends_a_run_once_and_counts_groups_by_members():
    due = [ask("a", 1.0), ask("a", 1.0), ask("g1,g2,g3", 1.0, cost=3), ask("b", 1.0)]
    early = [ask("a", 3.0, earliest=0.0), ask("c", 3.0, earliest=0.0), ask("d", 3.0, earliest=0.0)]
    batches = plan_batches(due, early, 6)
    assert len(batches) == 1
    assert batches[0].cost == 6 and list(batches[0].asks) == ["a", "g1,g2,g3", "b", "c"]
    assert len(batches[0].asks["a"]) == 3  # two due asks and an early one, one read
    big = plan_batches([ask("x", 1.0), ask("y" * 3, 1.0, cost=150)], [], 100)
    assert [b.cost for b in big] == [1, 150]  # too big alone: its own batch, the hook pages it


def test_plan_without_due_runs_sends_nothing():
    assert plan_batches([], [ask("e", 2.0, earliest=0.0)], 100) == []


def test_asks_of_one_tick_share_few_requests():
    async def scenario():
        hook = FakeHook(batch_size=100, missing={"r7"})
        poller = StatusPoller(hook)
        results = await asyncio.gather(*(poller.status(f"r{i}") for i in range(250)))
        return hook, poller, results

    hook, poller, results = asyncio.run(scenario())
    assert sorted(len(ids) for _, ids in hook.calls) == [50, 100, 100]
    assert results[7] is None  # left out of the answer: the trigger reads it on its own
    assert all(r.details["run"] == f"r{i}" for i, r in enumerate(results) if i != 7)
    assert poller.idle


def test_batch_error_reaches_every_waiter():
    error = TransientError("boom", service="edges", status_code=503)

    async def scenario():
        poller = StatusPoller(FakeHook(error=error))
        return await asyncio.gather(*(poller.status(f"r{i}") for i in range(5)), return_exceptions=True)

    assert asyncio.run(scenario()) == [error] * 5


def test_without_batch_support_every_run_reads_on_its_own_at_its_time():
    async def scenario():
        hook = FakeHook(batch_size=0)
        poller = StatusPoller(hook)
        started = time.monotonic()
        result = await poller.status("r", delay=0.2)
        return hook, time.monotonic() - started, result

    hook, waited, result = asyncio.run(scenario())
    assert result is None and hook.calls == [] and waited >= 0.19


def test_a_cancelled_waiter_leaves_nothing_and_others_go_on():
    async def scenario():
        hook = FakeHook()
        poller = StatusPoller(hook)
        lone = asyncio.create_task(poller.status("lone", delay=5))
        await asyncio.sleep(0.01)
        assert poller.waiting == 1 and not poller.idle
        lone.cancel()
        await asyncio.gather(lone, return_exceptions=True)
        assert poller.idle  # no ask, no timer
        a = asyncio.create_task(poller.status("a", delay=0.1))
        b = asyncio.create_task(poller.status("b", delay=0.1))
        await asyncio.sleep(0.01)
        a.cancel()
        status = await b
        await asyncio.gather(a, return_exceptions=True)
        return hook, poller, status

    hook, poller, status = asyncio.run(scenario())
    assert status.details["run"] == "b" and [ids for _, ids in hook.calls] == [["b"]]
    assert poller.idle


def test_a_batch_whose_waiters_all_left_is_cancelled():
    async def scenario():
        hook = FakeHook(gate=asyncio.Event())
        poller = StatusPoller(hook)
        tasks = [asyncio.create_task(poller.status(f"r{i}")) for i in range(3)]
        await asyncio.sleep(0.3)  # a first poll leaves on the next 0.25 s tick
        assert poller.in_flight == 1
        tasks[0].cancel()
        await asyncio.sleep(0.01)
        assert poller.in_flight == 1  # two still wait for it
        for t in tasks[1:]:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.01)
        return hook, poller

    hook, poller = asyncio.run(scenario())
    assert hook.cancelled == 1 and poller.idle


def test_a_cancelled_batch_lets_its_waiters_read_on_their_own():
    async def scenario():
        hook = FakeHook(gate=asyncio.Event())
        poller = StatusPoller(hook)
        waiter = asyncio.create_task(poller.status("r"))
        await asyncio.sleep(0.3)  # a first poll leaves on the next 0.25 s tick
        next(iter(poller._tasks)).cancel()  # e.g. the loop shutting down the batch first
        return await waiter

    assert asyncio.run(scenario()) is None


def test_runs_converge_on_shared_poll_instants():
    """1,000 runs polled every ``interval``, started at scattered instants: once the cohorts have
    formed, a sweep costs about ceil(1000 / 100) batch reads (without pull-forward: one per tick)."""
    interval, runs, sweeps = 0.4, 1000, 6

    async def scenario():
        hook = FakeHook(batch_size=100)
        poller = StatusPoller(hook)
        rng = random.Random(5)
        stop = time.monotonic() + interval * sweeps

        async def run(i):
            delay, window = rng.uniform(0, interval), 0.0
            while time.monotonic() < stop:
                status = await poller.status(f"r{i}", delay=delay, window=window)
                assert status is not None
                delay, window = interval, PULL_FORWARD * interval

        await asyncio.gather(*(run(i) for i in range(runs)))
        return hook

    hook = asyncio.run(scenario())
    start = hook.calls[0][0]
    per_sweep = [0] * (sweeps + 3)
    for at, _ in hook.calls:
        per_sweep[int((at - start) / interval)] += 1
    assert all(len(ids) <= 100 for _, ids in hook.calls)
    settled = per_sweep[2 : sweeps - 1]
    print("batch reads per sweep:", per_sweep)
    assert max(settled) <= math.ceil(runs / 100) + 2, per_sweep


class BatchingHook(RunsHook):
    service = "fake"
    default_conn_name = "fake_default"
    batch_size = 10

    def __init__(self, conn_id=None, **kwargs):
        self.params = {k: v for k, v in kwargs.items() if k != "retry"}
        super().__init__(conn_id, retry=kwargs["retry"])


def test_one_poller_per_connection_params_and_loop():
    async def pollers():
        a = status_poller(BatchingHook, "c1", {"x": 1})
        assert status_poller(BatchingHook, "c1", {"x": 1}) is a
        assert status_poller(BatchingHook, "c2", {"x": 1}) is not a
        assert status_poller(BatchingHook, "c1", {"x": 2}) is not a
        assert status_poller(RunsHook, "c1") is None  # no batch read
        return a

    first, second = asyncio.run(pollers()), asyncio.run(pollers())
    assert first is not second  # a new loop (a restarted triggerer) gets its own
    assert first.hook.params == {"x": 1}


@pytest.mark.parametrize("delay", [0.0, 0.3])
def test_an_ask_is_answered_no_earlier_than_its_delay_minus_its_window(delay):
    async def scenario():
        poller = StatusPoller(FakeHook())
        started = time.monotonic()
        await poller.status("r", delay=delay, window=delay / 2)
        return time.monotonic() - started

    waited = asyncio.run(scenario())
    assert delay - 0.01 <= waited < delay + 0.3  # alone: nothing pulls it forward (a tick at most)


class FakeLimiter:
    """A budget with its next slot ``free_at`` (loop time)."""

    def __init__(self, free_at):
        self.free_at = free_at

    def next_slot_in(self):
        return max(0.0, self.free_at - asyncio.get_running_loop().time())


def test_a_batch_waits_for_the_budget_and_then_takes_every_run_due_by_then():
    async def scenario():
        hook = FakeHook()
        loop = asyncio.get_running_loop()
        hook.limiter = FakeLimiter(loop.time() + 1.0)
        poller = StatusPoller(hook)

        async def later(i):
            await asyncio.sleep(0.1 * i)  # one run falls due every 0.1 s for 0.8 s
            return await poller.status(f"r{i}")

        results = await asyncio.gather(*(later(i) for i in range(9)))
        return hook.calls, results

    calls, results = asyncio.run(scenario())
    assert all(r is not None for r in results)
    assert len(calls) == 1 and len(calls[0][1]) == 9  # one request, not one per tick
