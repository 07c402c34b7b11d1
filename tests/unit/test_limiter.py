"""The request budget (issue 12): the limiter on a fake clock, 429s as backpressure in the waiting
rules and the sensor's poke, and the ``requests_per_minute`` connection setting."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from airflow_provider_runs.core.errors import RateLimitedError, TransientError
from airflow_provider_runs.core.limiter import (
    BudgetWaitError,
    RequestLimiter,
    WaitTooLong,
    limiter_for,
    reset_limiters,
)
from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.waiting.waiter import EVENT_ERROR, RunWaiter

WALL0 = 1_800_000_000.0


class FakeClock:
    """Monotonic and wall clocks that move only when told (or when something sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL0 + self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(rpm: float, clock: FakeClock) -> RequestLimiter:
    return RequestLimiter(
        rpm, service="edges", base_url="https://x", clock=clock, wall=clock.wall, sleep=clock.sleep
    )


# -- rate and burst ------------------------------------------------------------------------------
def test_burst_then_one_request_per_interval():
    clock = FakeClock()
    lim = limiter(60, clock)  # 1/s, burst of 2 s worth = 2 requests
    assert [lim.reserve() for _ in range(5)] == [0.0, 0.0, 1.0, 2.0, 3.0]


def test_the_burst_refills_but_never_beyond_its_size():
    clock = FakeClock()
    lim = limiter(60, clock)
    for _ in range(3):
        lim.reserve()
    clock.now += 100  # idle for long: still only a burst's worth at once
    assert [lim.reserve() for _ in range(3)] == [0.0, 0.0, 1.0]


def test_rate_over_time_matches_requests_per_minute():
    clock = FakeClock()
    lim = limiter(600, clock)  # 10/s, burst 20
    start, sent = clock.now, 0
    while clock.now - start < 30:
        lim.acquire()
        sent += 1
    assert 300 + 20 - 2 <= sent <= 300 + 20 + 1


def test_zero_means_no_limit():
    clock = FakeClock()
    lim = limiter(0, clock)
    assert all(lim.reserve() == 0.0 for _ in range(10_000))
    assert lim.current_rate == 0 and lim.requests_per_minute == 0


# -- adaptation ----------------------------------------------------------------------------------
def test_a_429_halves_the_rate_once_per_gap_down_to_a_floor():
    clock = FakeClock()
    lim = limiter(120, clock)
    lim.observe(429, {})
    assert lim.current_rate == 60
    lim.observe(429, {})  # the same episode (another request already on its way): counted once
    assert lim.current_rate == 60
    for _ in range(20):
        clock.now += 2.0
        lim.observe(429, {})
    assert lim.current_rate == pytest.approx(120 * 0.05)


def test_successes_bring_the_rate_back_additively():
    clock = FakeClock()
    lim = limiter(100, clock)
    lim.observe(429, {})
    assert lim.current_rate == 50
    lim.observe(200, {})
    assert lim.current_rate == pytest.approx(52)
    for _ in range(100):
        lim.observe(200, {})
    assert lim.current_rate == 100  # never above the configured rate


def test_a_429_empties_the_burst():
    clock = FakeClock()
    lim = limiter(60, clock)
    assert lim.reserve() == 0.0  # one of the two burst tokens left
    lim.observe(429, {"X-RateLimit-Type": "runs", "X-RateLimit-Remaining": "0"})
    assert lim.reserve() == pytest.approx(2.0)  # one interval at the halved rate (30/min)


# -- pauses ---------------------------------------------------------------------------------------
def test_retry_after_pauses_the_whole_bucket():
    clock = FakeClock()
    lim = limiter(600, clock)
    lim.observe(429, {"Retry-After": "30"})
    assert lim.paused_for() == pytest.approx(30)
    with pytest.raises(WaitTooLong) as err:
        lim.reserve(max_wait=10)  # does not fit: nothing taken
    assert err.value.wait == pytest.approx(30, abs=0.2)
    waits = [lim.reserve() for _ in range(3)]
    assert waits[0] == pytest.approx(30, abs=0.2)
    assert waits[1] - waits[0] == pytest.approx(0.2) and waits[2] - waits[1] == pytest.approx(0.2)  # no burst


def test_retry_after_is_cut_to_the_transports_cap():
    clock = FakeClock()
    lim = limiter(60, clock)
    lim.observe(429, {"Retry-After": "1e12"}, max_pause=600)
    assert lim.paused_for() == pytest.approx(600)
    lim2 = limiter(60, clock)
    lim2.observe(429, {"Retry-After": "inf"})  # not a number of seconds: ignored
    assert lim2.paused_for() == 0


def test_a_503_retry_after_pauses_too_without_slowing_the_rate():
    clock = FakeClock()
    lim = limiter(60, clock)
    lim.observe(503, {"Retry-After": "5"})
    assert lim.paused_for() == pytest.approx(5) and lim.current_rate == 60


@pytest.mark.parametrize(
    ("reset", "expected"),
    [
        (str(int(WALL0 + 1000 + 45)), 45),  # epoch seconds
        ("20", 20),  # delta seconds
        (str(int((WALL0 + 1000 + 12) * 1000)), 12),  # epoch milliseconds
        (str(int(WALL0 + 1000 - 5)), 0),  # already past
        ("soon", 0),
    ],
)
def test_remaining_zero_and_reset_pause_until_the_reset(reset, expected):
    clock = FakeClock()
    lim = limiter(1000, clock)
    lim.observe(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    assert lim.paused_for() == pytest.approx(expected, abs=1)


def test_remaining_above_zero_does_not_pause():
    clock = FakeClock()
    lim = limiter(1000, clock)
    lim.observe(200, {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": str(int(WALL0 + 1060))})
    assert lim.paused_for() == 0 and lim.reserve() == 0.0


def test_a_connection_without_a_limit_still_obeys_pauses():
    clock = FakeClock()
    lim = limiter(0, clock)
    lim.observe(429, {"Retry-After": "7"})
    assert lim.reserve() == pytest.approx(7)
    with pytest.raises(WaitTooLong):
        lim.reserve(max_wait=1)


def test_acquire_waits_out_a_pause_that_starts_while_waiting():
    clock = FakeClock()
    lim = limiter(60, clock)
    lim.reserve()
    lim.reserve()
    real_sleep = clock.sleep

    def sleep(seconds):  # while this request waits for its token, another one gets a 429
        real_sleep(seconds)
        if len(clock.slept) == 1:
            lim.observe(429, {"Retry-After": "10"})

    lim._sleep = sleep
    waited = lim.acquire()
    assert waited == pytest.approx(1 + 10)


# -- deadlines -------------------------------------------------------------------------------------
def test_acquire_never_waits_past_max_wait():
    clock = FakeClock()
    lim = limiter(60, clock)
    lim.reserve()
    lim.reserve()
    with pytest.raises(WaitTooLong):
        lim.acquire(max_wait=0.5)
    assert clock.slept == []
    assert lim.acquire(max_wait=1.0) == pytest.approx(1.0)


def test_budget_wait_error_is_backpressure_that_was_never_sent():
    from airflow_provider_runs.core.errors import NotSentError

    err = BudgetWaitError("x", service="edges", retry_after=3)
    assert isinstance(err, RateLimitedError) and isinstance(err, NotSentError) and err.retryable


# -- sharing -----------------------------------------------------------------------------------------
def test_one_limiter_per_connection_and_never_the_key_in_text():
    key, other = "edges_SECRET_key_0123456789", "edges_OTHER_key_9876543210"
    a = limiter_for("edges", "https://api.edges.run/v1/", key, 150)
    assert limiter_for("edges", "https://api.edges.run/v1", key, 150) is a
    assert limiter_for("edges", "https://api.edges.run/v1", other, 150) is not a
    assert limiter_for("inference_sh", "https://api.edges.run/v1", key, 150) is not a
    from airflow_provider_runs.core import limiter as module

    text = repr(a) + repr(module._LIMITERS)
    assert key not in text and "SECRET" not in text
    assert limiter_for("edges", "https://api.edges.run/v1", key, 60) is a and a.requests_per_minute == 60
    reset_limiters()
    assert limiter_for("edges", "https://api.edges.run/v1", key, 150) is not a


def test_reserve_is_thread_safe():
    """Eight threads taking 400 slots get exactly the 400 slots one thread would get."""
    clock = FakeClock()  # frozen: the schedule depends only on the order of reservations
    lim = limiter(6000, clock)
    alone = limiter(6000, FakeClock())
    expected = sorted(alone.reserve() for _ in range(400))
    got: list[float] = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        mine = [lim.reserve() for _ in range(50)]
        got.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == pytest.approx(expected)


def test_async_acquire_does_not_block_the_event_loop():
    lim = RequestLimiter(120, service="edges")  # 2/s, burst 4

    async def main():
        ticks = 0
        stop = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.02)

        task = asyncio.create_task(ticker())
        started = time.monotonic()
        waited = await asyncio.gather(*(lim.aacquire() for _ in range(6)))
        elapsed = time.monotonic() - started
        stop.set()
        await task
        return ticks, elapsed, waited

    ticks, elapsed, waited = asyncio.run(main())
    assert 0.9 <= elapsed < 2.0
    assert sum(1 for w in waited if w == 0) == 4
    assert ticks >= 20  # the loop ran other tasks all along


# -- the waiting rules: a 429 is backpressure -------------------------------------------------------
def running() -> RunStatus:
    return RunStatus(state=RunState.RUNNING, raw_status="RUNNING")


def test_twenty_429s_in_a_row_do_not_end_the_wait():
    waiter = RunWaiter("r1", poll_interval=1.0, deadline=None, max_consecutive_failures=10)
    sleeps = []
    for _ in range(20):
        step = waiter.on_error(RateLimitedError("HTTP 429", service="edges", status_code=429))
        assert step.event is None
        sleeps.append(step.sleep)
    assert waiter.failures == 0 and waiter.rate_limited == 20
    assert all(1.0 <= s <= 60.0 for s in sleeps)
    assert sleeps[0] <= 2.0 and max(sleeps[-5:]) >= 30  # exponential, with jitter, up to the cap
    assert waiter.on_status(running()).event is None and waiter.rate_limited == 0


def test_ten_503s_in_a_row_still_end_the_wait():
    waiter = RunWaiter("r1", poll_interval=1.0, deadline=None, max_consecutive_failures=10)
    steps = [waiter.on_error(TransientError("HTTP 503", status_code=503)) for _ in range(10)]
    assert all(s.event is None for s in steps[:9])
    assert steps[9].event["event"] == EVENT_ERROR and "10 times in a row" in steps[9].event["message"]


def test_a_429_neither_counts_nor_resets_the_failures():
    waiter = RunWaiter("r1", poll_interval=1.0, deadline=None, max_consecutive_failures=3)
    waiter.on_error(TransientError("HTTP 503"))
    waiter.on_error(TransientError("HTTP 503"))
    assert waiter.on_error(RateLimitedError("HTTP 429")).event is None
    assert waiter.on_error(TransientError("HTTP 503")).event["event"] == EVENT_ERROR


def test_retry_after_and_budget_waits_set_the_next_poll():
    waiter = RunWaiter("r1", poll_interval=1.0, deadline=None)
    assert waiter.on_error(RateLimitedError("HTTP 429", retry_after=7)).sleep == 7
    assert waiter.on_error(BudgetWaitError("no room", retry_after=42)).sleep == 42
    assert waiter.on_error(RateLimitedError("HTTP 429", retry_after=10**6)).sleep == 600
    short = RunWaiter("r1", poll_interval=1.0, deadline=time.time() + 3)
    assert short.on_error(RateLimitedError("HTTP 429", retry_after=500)).sleep <= 3


def test_a_long_poll_interval_keeps_its_pace_under_429s():
    waiter = RunWaiter("r1", poll_interval=300.0, deadline=None)
    sleeps = [waiter.on_error(RateLimitedError("HTTP 429")).sleep for _ in range(5)]
    assert all(150 <= s <= 300 for s in sleeps)  # the cap is the poll interval when larger


# -- the sensor's poke --------------------------------------------------------------------------------
class StubHook:
    def __init__(self, answers):
        self.answers = list(answers)

    def get_status(self, run_id):
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def test_poke_does_not_count_429s(monkeypatch):
    from airflow_provider_runs.operators.base import RunFailedError
    from airflow_provider_runs.sensors.edges import EdgesRunSensor

    sensor = EdgesRunSensor(task_id="s", run_id="r1", max_consecutive_failures=3, mode="reschedule")
    sensor.hook = StubHook(
        [RateLimitedError("HTTP 429", status_code=429)] * 20
        + [TransientError("HTTP 503")] * 2
        + [running()]
        + [TransientError("HTTP 503")] * 3
    )
    assert [sensor.poke({}) for _ in range(23)] == [False] * 23
    assert sensor.poke({}) is False and sensor.poke({}) is False
    with pytest.raises(RunFailedError, match="3 times in a row"):
        sensor.poke({})


# -- the setting -------------------------------------------------------------------------------------
def hook_with(monkeypatch, hook_class, extra, **kwargs):
    conn_type = hook_class.conn_type
    conn = {
        "conn_type": conn_type,
        "host": "https://api.example.com",
        "password": "k_123456789",
        "extra": extra,
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_type.upper()}_BUDGET", json.dumps(conn))
    return hook_class(f"{conn_type}_budget", **kwargs)


@pytest.mark.service_budgets
def test_defaults_per_service(monkeypatch):
    from airflow_provider_runs.hooks.edges import EdgesHook
    from airflow_provider_runs.hooks.inferable import InferableHook
    from airflow_provider_runs.hooks.inference_sh import InferenceShHook

    expected = {EdgesHook: 150, InferenceShHook: 1000, InferableHook: 0}
    for hook_class, rpm in expected.items():
        extra = {"cluster_id": "c1"} if hook_class is InferableHook else {}
        hook = hook_with(monkeypatch, hook_class, extra)
        assert hook.transport.config.limiter.requests_per_minute == rpm, hook_class


def test_extra_and_argument(monkeypatch):
    from airflow_provider_runs.hooks.edges import EdgesHook

    assert (
        hook_with(
            monkeypatch, EdgesHook, {"requests_per_minute": "60"}
        ).transport.config.limiter.requests_per_minute
        == 60
    )
    reset_limiters()
    hook = hook_with(monkeypatch, EdgesHook, {"requests_per_minute": 60}, requests_per_minute=20)
    assert hook.transport.config.limiter.requests_per_minute == 20
    assert hook_with(monkeypatch, EdgesHook, {"requests_per_minute": ""}).transport.config.limiter is not None


@pytest.mark.parametrize("value", ["abc", "-1", -5, "inf", "nan", True, [1]])
def test_bad_values_name_the_field(monkeypatch, value):
    from airflow_provider_runs.hooks.edges import EdgesHook

    with pytest.raises(ValueError, match="requests_per_minute must be a number >= 0"):
        hook_with(monkeypatch, EdgesHook, {"requests_per_minute": value}).transport  # noqa: B018


def test_hooks_of_one_connection_share_one_budget(monkeypatch):
    from airflow_provider_runs.hooks.edges import EdgesHook

    a = hook_with(monkeypatch, EdgesHook, {"requests_per_minute": 90})
    b = hook_with(monkeypatch, EdgesHook, {"requests_per_minute": 90})

    async def async_limiter():
        return (await b.atransport()).config.limiter

    assert a.transport.config.limiter is asyncio.run(async_limiter())
