"""Coalesced sleeping: wake-ups land on a shared tick, never early, at most one tick late."""

from __future__ import annotations

import asyncio
import random

import pytest

from airflow_provider_runs.core.timers import MAX_TICK, coalesced_sleep, coalesced_wake_time


@pytest.mark.parametrize("seconds", [0.0, 0.001, 0.05, 1.0, 5.0, 7.3, 60.0])
def test_wake_time_is_never_early_and_at_most_one_tick_late(seconds):
    rng = random.Random(seconds)
    tick = min(MAX_TICK, seconds / 8)
    for _ in range(1000):
        now = rng.uniform(0, 1e6)
        wake = coalesced_wake_time(now, seconds)
        assert wake >= now + seconds - 1e-6
        assert wake - (now + seconds) <= tick + 1e-6


def test_waits_of_one_interval_started_within_a_tick_share_their_wake_time():
    wakes = {coalesced_wake_time(1000.0 + i * 0.0003, 5.0) for i in range(500)}  # 0.15 s of starts
    assert len(wakes) <= 2  # at most one tick boundary falls inside the starts


def test_negative_sleep_wakes_now():
    assert coalesced_wake_time(10.0, -1.0) == 10.0


def test_concurrent_sleepers_share_one_timer_instant():
    async def main():
        loop = asyncio.get_running_loop()

        async def sleeper(offset: float):
            await asyncio.sleep(offset)  # scattered starts, as triggers created one by one
            await coalesced_sleep(2.0)

        sleepers = asyncio.gather(*(sleeper(i * 0.001) for i in range(40)))  # fewer than MAX_PER_TICK
        await asyncio.sleep(0.15)  # every sleeper is now in its coalesced sleep
        instants = {h.when() for h in loop._scheduled if not h.cancelled() and h.when() > loop.time() + 1}
        await sleepers
        return instants

    instants = asyncio.run(main())
    assert 1 <= len(instants) <= 2, sorted(instants)  # one timer instant, not 40 separate wake-ups


def test_cancelled_sleep_leaves_no_pending_timer():
    async def main():
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(coalesced_sleep(30))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return [h for h in loop._scheduled if not h.cancelled()]

    assert asyncio.run(main()) == []


def test_a_tick_wakes_at_most_max_per_tick_waiters_the_rest_at_their_own_time():
    from airflow_provider_runs.core import timers

    async def main():
        loop = asyncio.get_running_loop()
        sleepers = [asyncio.create_task(coalesced_sleep(2.0)) for _ in range(timers.MAX_PER_TICK + 30)]
        await asyncio.sleep(0.05)
        whens = [h.when() for h in loop._scheduled if not h.cancelled() and h.when() > loop.time() + 1]
        counts = dict(timers._TICKS[loop])
        await asyncio.gather(*sleepers)
        return whens, counts, dict(timers._TICKS[loop])

    whens, counts, after = asyncio.run(main())
    tick_when = max(set(whens), key=whens.count)
    assert whens.count(tick_when) == timers.MAX_PER_TICK
    assert counts == {tick_when: timers.MAX_PER_TICK}
    assert after == {}  # every waiter left its tick
