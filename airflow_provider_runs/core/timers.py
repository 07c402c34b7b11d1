"""Coalesced sleeping for the triggerer: many waits wake up together, on a shared tick.

Thousands of triggers that each sleep ``poll_interval`` wake at scattered instants, so the
event loop runs one iteration (a ``select`` call, timer heap work, one request written, one
response read) per poll. Rounding every wake-up up to the next multiple of a short tick of the
loop's clock makes all the polls that fall due within one tick leave in the same loop iteration
and their responses arrive together, which divides the loop's fixed cost per poll. The price is
at most one tick of extra latency (:data:`MAX_TICK`), the idea operating systems call timer
coalescing (Linux's timer slack).

A tick takes at most :data:`MAX_PER_TICK` waiters; later ones wake at their own time. Where
polls are dense (10,000 triggers) the loop batches them anyway, and unbounded ticks would only
send bursts larger than the shared session's connection pool, which then queue for a connection.
"""

from __future__ import annotations

import asyncio
import math
import weakref

from airflow_provider_runs.core.retry import clamp_seconds

MAX_TICK = 0.25
"""The longest tick in seconds: the most a coalesced sleep adds to the asked duration."""
TICK_FRACTION = 8
"""Short sleeps get a tick of ``seconds / TICK_FRACTION`` so that they stay about as asked."""
MAX_PER_TICK = 50
"""The most waiters one tick wakes (half the shared session's connection pool)."""
MAX_SLEEP = 86400.0
"""The longest sleep in seconds: a longer (or infinite) one is cut to this; NaN and negatives are 0."""

_TICKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, int]] = weakref.WeakKeyDictionary()
"""Per event loop: how many waiters each pending tick will wake."""


def sane_seconds(seconds: float) -> float:
    """Any float as a sleep duration: within ``[0, MAX_SLEEP]``, NaN and negatives as 0."""
    return clamp_seconds(seconds, MAX_SLEEP)


def coalesced_wake_time(now: float, seconds: float) -> float:
    """The loop time to wake at: ``now + seconds`` rounded up to the tick for ``seconds``."""
    seconds = sane_seconds(seconds)
    tick = min(MAX_TICK, seconds / TICK_FRACTION)
    if tick <= 0:
        return now + seconds
    return math.ceil((now + seconds) / tick) * tick


async def coalesced_sleep(seconds: float) -> None:
    """Sleep at least ``seconds``, waking on a tick shared with this event loop's other waiters.

    Any float is accepted (see :func:`sane_seconds`): ``inf`` sleeps :data:`MAX_SLEEP`, NaN not at all.
    """
    seconds = sane_seconds(seconds)
    loop = asyncio.get_running_loop()
    now = loop.time()
    wake = coalesced_wake_time(now, seconds)
    ticks = _TICKS.setdefault(loop, {})
    on_tick = ticks.get(wake, 0) < MAX_PER_TICK
    if on_tick:
        ticks[wake] = ticks.get(wake, 0) + 1
    else:
        wake = now + seconds  # the tick is full: wake at this waiter's own time
    woken = loop.create_future()
    handle = loop.call_at(wake, _wake, woken)
    try:
        await woken
    finally:
        handle.cancel()
        if on_tick:
            _leave_tick(ticks, wake)


def _leave_tick(ticks: dict[float, int], wake: float) -> None:
    left = ticks.get(wake, 1) - 1
    if left > 0:
        ticks[wake] = left
    else:
        ticks.pop(wake, None)


def _wake(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)
