"""A request budget per service connection, in each process: a token bucket that adapts to 429s.

The services meter requests per workspace or key (Edges: 30 to 600 a minute on all ``/v1/runs/*``
routes together; inference.sh: 1000 a minute for reading a task). Every request a process sends on
one connection (service, base URL, API key) spends the same :class:`RequestLimiter`: the async
transport's (every trigger of a triggerer) and the sync transport's (hook calls in a worker,
from any thread).

- **Rate and burst**: ``requests_per_minute`` (``0``: no limit), with a burst of
  :data:`BURST_SECONDS` worth of requests. Implemented as a virtual schedule (GCRA): taking a token
  is a few float operations under an uncontended lock and returns how long to wait; nothing is
  allocated and nothing waits while holding the lock.
- **Adaptive** (AIMD): a 429 halves the current rate (at most once per :data:`DECREASE_GAP`,
  never below :data:`MIN_RATE_FRACTION` of the configured rate) and empties the burst; each
  success adds :data:`INCREASE_FRACTION` of the configured rate back, up to the configured rate.
- **Pauses**: a ``Retry-After`` (on a 429 or 503), or ``X-RateLimit-Remaining: 0`` with an
  ``X-RateLimit-Reset`` (epoch seconds; delta seconds and epoch milliseconds tolerated), stop the
  whole bucket until then (cut to the transport's ``max_retry_after``); afterwards requests resume
  at the rate, without a burst.
- **Deadlines**: a caller says how long it may wait (its deadline, its retry policy); a wait that
  does not fit raises :class:`WaitTooLong` at once, taking no token.

Each process has its own limiters: several triggerers and workers share a service's budget only
through the 429s they all receive (see the README's "Request budget" section).
No Airflow import here; the API key is only ever held as a salted digest, never shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_runs.core.errors import NotSentError, RateLimitedError
from airflow_provider_runs.core.retry import parse_retry_after

BURST_SECONDS = 2.0
"""The burst: this many seconds' worth of requests may leave at once (at least one request)."""
MIN_RATE_FRACTION = 0.05
"""The adaptive rate never falls below this fraction of the configured rate."""
DECREASE_FACTOR = 0.5
"""A 429 multiplies the current rate by this."""
DECREASE_GAP = 2.0
"""Seconds between two decreases: the 429s of requests already on their way count once."""
INCREASE_FRACTION = 0.02
"""Each success adds this fraction of the configured rate back (50 successes from the floor)."""
DEFAULT_MAX_PAUSE = 600.0
"""The longest pause when the caller gives no cap (the transport passes its ``max_retry_after``)."""

_REMAINING = "X-RateLimit-Remaining"
_RESET = "X-RateLimit-Reset"
_PAUSING_STATUSES = frozenset({429, 503})


class WaitTooLong(Exception):
    """The next request may not leave within the time the caller can wait.

    :param wait: seconds until it could leave (a pause's end, or a token's time).
    """

    def __init__(self, wait: float) -> None:
        super().__init__(f"the request budget has no room for {wait:.1f}s")
        self.wait = wait


class BudgetWaitError(RateLimitedError, NotSentError):
    """A request was not sent: the connection's request budget has no room for it before the
    caller's deadline (or within the longest wait it accepts). ``retry_after`` says when it has.

    A rate limit (backpressure, like a 429) that provably never reached the service.
    """


class RequestLimiter:
    """The request budget of one service connection in this process (thread-safe).

    :param requests_per_minute: the configured rate; ``0`` (or less) means no limit, but pauses
        asked by the service (``Retry-After``, ``X-RateLimit-Reset``) still apply.
    :param service: the service name (for ``repr`` and logs).
    :param base_url: the connection's base URL (for ``repr`` and logs).
    :param clock: monotonic seconds (tests pass a fake clock).
    :param wall: UNIX seconds, to read ``X-RateLimit-Reset`` (tests pass a fake one).
    :param sleep: the blocking sleep of :meth:`acquire` (tests pass one that moves the fake clock).
    """

    __slots__ = (
        "_clock",
        "_configured",
        "_interval",
        "_last_decrease",
        "_lock",
        "_paused_until",
        "_rate",
        "_rpm",
        "_sleep",
        "_tat",
        "_tolerance",
        "_wall",
        "base_url",
        "service",
    )

    def __init__(
        self,
        requests_per_minute: float = 0.0,
        *,
        service: str = "",
        base_url: str = "",
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.service = service
        self.base_url = base_url
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._lock = threading.Lock()
        self._configured = 0.0
        self._rpm = 0.0
        self._rate = 0.0
        self._interval = 0.0
        self._tolerance = 0.0
        self._tat = -math.inf  # the virtual time the bucket is next full ("theoretical arrival")
        self._paused_until = -math.inf
        self._last_decrease = -math.inf
        self.configure(requests_per_minute)

    # -- settings ---------------------------------------------------------------------------
    def configure(self, requests_per_minute: float) -> None:
        """Set the configured rate (requests a minute; ``0``: no limit); the current rate restarts there."""
        rpm = max(0.0, float(requests_per_minute or 0.0))
        if not math.isfinite(rpm):
            rpm = 0.0
        per_second = rpm / 60.0
        with self._lock:
            self._rpm = rpm
            self._configured = per_second
            self._set_rate(per_second)

    def _set_rate(self, per_second: float) -> None:
        self._rate = per_second
        if per_second > 0:
            self._interval = 1.0 / per_second
            burst = max(1.0, per_second * BURST_SECONDS)
            self._tolerance = (burst - 1.0) * self._interval
        else:
            self._interval = self._tolerance = 0.0

    @property
    def requests_per_minute(self) -> float:
        """The configured rate (``0``: no limit)."""
        return self._rpm

    @property
    def current_rate(self) -> float:
        """The adapted rate in requests a minute (``0``: no limit)."""
        return self._rate * 60.0

    def paused_for(self) -> float:
        """Seconds the bucket stays paused (``0`` when it is not)."""
        return max(0.0, self._paused_until - self._clock())

    def __repr__(self) -> str:  # never the key nor its digest
        return (
            f"RequestLimiter(service={self.service!r}, base_url={self.base_url!r}, "
            f"requests_per_minute={self.requests_per_minute:g}, current={self.current_rate:.3g})"
        )

    # -- spending -------------------------------------------------------------------------
    def reserve(self, max_wait: float | None = None) -> float:
        """Take the next slot; return the seconds to wait before sending (``0``: send now).

        :param max_wait: the longest the caller can wait; when the slot is later,
            :class:`WaitTooLong` is raised and nothing is taken.
        """
        now = self._clock()
        with self._lock:
            if self._interval == 0.0:  # no limit: only a pause holds requests back
                wait = self._paused_until - now
                if wait <= 0.0:
                    return 0.0
                if max_wait is not None and wait > max_wait:
                    raise WaitTooLong(wait)
                return wait
            tat = self._tat
            if tat < now:
                tat = now
            floor = self._paused_until + self._tolerance  # no slot before the pause's end
            if tat < floor:
                tat = floor
            wait = tat - self._tolerance - now
            if wait <= 0.0:
                wait = 0.0
            elif max_wait is not None and wait > max_wait:
                raise WaitTooLong(wait)
            self._tat = tat + self._interval
            return wait

    def next_slot_in(self) -> float:
        """Seconds until a request could leave (``0``: now), without taking the slot. A batching
        caller waits this long before choosing what to send, so that the request carries every
        run that falls due meanwhile instead of leaving with the first few."""
        now = self._clock()
        with self._lock:
            if self._interval == 0.0:
                return max(0.0, self._paused_until - now)
            tat = max(self._tat, now, self._paused_until + self._tolerance)
            return max(0.0, tat - self._tolerance - now)

    def acquire(self, max_wait: float | None = None) -> float:
        """Wait (blocking) until a request may leave; return the seconds waited.

        :class:`WaitTooLong` when it cannot leave within ``max_wait`` seconds. A pause that starts
        while waiting (another request's 429) is waited out too.
        """
        wait = self.reserve(max_wait)
        return 0.0 if wait <= 0.0 else self.wait_turn(wait, max_wait)

    async def aacquire(self, max_wait: float | None = None) -> float:
        """:meth:`acquire` for the event loop: the waits are ``asyncio.sleep``, nothing blocks."""
        wait = self.reserve(max_wait)
        return 0.0 if wait <= 0.0 else await self.await_turn(wait, max_wait)

    def wait_turn(self, wait: float, max_wait: float | None = None) -> float:
        """Sleep (blocking) ``wait`` seconds (what :meth:`reserve` returned), then out any pause that
        started meanwhile; return the seconds waited (:class:`WaitTooLong` beyond ``max_wait``)."""
        started = self._clock()
        while wait > 0.0:
            self._sleep(wait)
            wait = self._pause_left(started, max_wait)
        return self._clock() - started

    async def await_turn(self, wait: float, max_wait: float | None = None) -> float:
        """:meth:`wait_turn` for the event loop. The hot path (no wait) never gets here."""
        started = self._clock()
        while wait > 0.0:
            await asyncio.sleep(wait)
            wait = self._pause_left(started, max_wait)
        return self._clock() - started

    def _pause_left(self, started: float, max_wait: float | None) -> float:
        """Seconds the pause still lasts after a wait begun at ``started``; :class:`WaitTooLong`
        when waiting it out would take the whole wait beyond ``max_wait``."""
        now = self._clock()
        wait = self._paused_until - now
        if wait > 0.0 and max_wait is not None and now - started + wait > max_wait:
            raise WaitTooLong(wait)
        return wait

    # -- learning -------------------------------------------------------------------------
    def observe(
        self, status: int, headers: Mapping[str, str] | None, max_pause: float = DEFAULT_MAX_PAUSE
    ) -> None:
        """Learn from one response: its status code and headers.

        :param max_pause: the longest pause a header may impose (the transport's ``max_retry_after``).
        """
        remaining = headers.get(_REMAINING) if headers is not None else None
        exhausted = remaining is not None and _is_zero(remaining)
        if status < 400 and not exhausted:  # the common case: a success, maybe some rate back
            if self._rate < self._configured:
                with self._lock:
                    self._set_rate(min(self._configured, self._rate + self._configured * INCREASE_FRACTION))
            return
        pause = 0.0
        if status in _PAUSING_STATUSES and headers is not None:
            retry_after = parse_retry_after(headers.get("Retry-After"))
            if retry_after is not None:
                pause = retry_after
        if exhausted and headers is not None:
            reset = _reset_seconds(headers.get(_RESET), self._wall())
            if reset is not None and reset > pause:
                pause = reset
        pause = min(pause, max(0.0, max_pause))
        now = self._clock()
        with self._lock:
            if status == 429 and self._configured > 0 and now - self._last_decrease >= DECREASE_GAP:
                self._last_decrease = now
                floor = self._configured * MIN_RATE_FRACTION
                self._set_rate(max(floor, self._rate * DECREASE_FACTOR))
            if (status == 429 or exhausted) and self._interval > 0.0:
                # the burst is spent: the next request waits one interval
                drained = now + self._tolerance + self._interval
                if self._tat < drained:
                    self._tat = drained
            if pause > 0.0 and now + pause > self._paused_until:
                self._paused_until = now + pause


def _is_zero(value: str) -> bool:
    try:
        return float(value) <= 0.0
    except (TypeError, ValueError):
        return False


def _reset_seconds(value: str | None, now: float) -> float | None:
    """Seconds until an ``X-RateLimit-Reset``: epoch seconds (or milliseconds), or delta seconds."""
    if not value:
        return None
    try:
        number = float(value.strip())
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number < 0:
        return None
    if number > 1e12:  # epoch milliseconds
        number /= 1000.0
    if number > 1e9:  # epoch seconds (after 2001)
        number -= now
    return max(0.0, number)


# -- one limiter per connection in this process ------------------------------------------------
_LIMITERS: dict[tuple[str, str, str], RequestLimiter] = {}
_REGISTRY_LOCK = threading.Lock()
_SALT = secrets.token_bytes(16)
"""Per process: the digest naming a key in the registry is useless outside this process."""


def _key_digest(api_key: str) -> str:
    return hmac.new(_SALT, api_key.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def limiter_for(service: str, base_url: str, api_key: str, requests_per_minute: float) -> RequestLimiter:
    """The process's limiter of a connection (service, base URL, API key), created on first use.

    A later caller asking for another ``requests_per_minute`` reconfigures it (the last setting wins).
    """
    base_url = base_url.rstrip("/")
    key = (service, base_url, _key_digest(api_key))
    limiter = _LIMITERS.get(key)
    if limiter is None:
        with _REGISTRY_LOCK:
            limiter = _LIMITERS.get(key)
            if limiter is None:
                limiter = RequestLimiter(requests_per_minute, service=service, base_url=base_url)
                _LIMITERS[key] = limiter
                return limiter
    if limiter.requests_per_minute != max(0.0, float(requests_per_minute or 0.0)):
        limiter.configure(requests_per_minute)
    return limiter


def reset_limiters() -> None:
    """Forget every limiter of this process (tests; a hook created later gets a fresh one)."""
    with _REGISTRY_LOCK:
        _LIMITERS.clear()


def _after_fork_in_child() -> None:
    """A forked worker starts with fresh locks (one held by another thread at the fork would never
    be released) and its own budgets."""
    global _REGISTRY_LOCK
    _REGISTRY_LOCK = threading.Lock()
    for limiter in list(_LIMITERS.values()):
        limiter._lock = threading.Lock()
    _LIMITERS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
