"""Retry timing: exponential backoff with full jitter that honours ``Retry-After``."""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How a transport retries an idempotent request.

    :param max_attempts: total attempts including the first; 1 disables retries.
    :param initial_backoff: upper bound of the first backoff in seconds (full jitter).
    :param max_backoff: cap of any computed backoff in seconds.
    :param max_retry_after: cap of a server-sent ``Retry-After`` in seconds; a longer demand
        is not waited out inside one call: the error is raised instead; :meth:`backoff` never
        returns more.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1 for the first)."""
        if retry_after is not None:
            return clamp_seconds(retry_after, self.max_retry_after)
        ceiling = min(self.max_backoff, self.initial_backoff * (2 ** max(0, failures - 1)))
        return random.uniform(0, ceiling)


DEFAULT_RETRY = RetryPolicy()
"""The default policy for hook calls."""

NO_RETRY = RetryPolicy(max_attempts=1)
"""A policy for callers that do their own retrying (the trigger's poll loop)."""


MAX_RETRY_AFTER = 86400.0
"""The longest ``Retry-After`` :func:`parse_retry_after` reports (one day): a server asking for
decades (or ``1e12``, which ``time.sleep`` cannot even take) is read as asking for a day, and
callers clamp further (:attr:`RetryPolicy.max_retry_after`, the wait's deadline)."""


def clamp_seconds(seconds: float, maximum: float) -> float:
    """``seconds`` as a sleep duration within ``[0, maximum]``; NaN and negatives are 0."""
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        return 0.0
    if not seconds > 0:  # also NaN
        return 0.0
    return min(seconds, maximum)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delta seconds or an HTTP date) into seconds from now.

    The result is finite, at least 0 and at most :data:`MAX_RETRY_AFTER`; a value that is not a
    number of seconds (``nan``, ``inf``, negative) or a date is ignored (``None``). A date in the
    past means now (0).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or seconds < 0:
            return None
        return min(seconds, MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if when is None:
        return None
    try:
        delta = when.timestamp() - (time.time() if now is None else now)
    except (OverflowError, OSError, ValueError):
        return None
    return clamp_seconds(delta, MAX_RETRY_AFTER)
