"""Retry timing: exponential backoff with full jitter that honours ``Retry-After``."""

from __future__ import annotations

import email.utils
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
        is not waited out inside one call: the error is raised instead.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1 for the first)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        ceiling = min(self.max_backoff, self.initial_backoff * (2 ** max(0, failures - 1)))
        return random.uniform(0, ceiling)


DEFAULT_RETRY = RetryPolicy()
"""The default policy for hook calls."""

NO_RETRY = RetryPolicy(max_attempts=1)
"""A policy for callers that do their own retrying (the trigger's poll loop)."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delta seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
