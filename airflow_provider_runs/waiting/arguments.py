"""The waiting arguments every operator and sensor takes, checked and normalized in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import conf

from airflow_provider_runs.validation import InvalidArgumentError, check_seconds

DEFAULT_POLL_INTERVAL = 5.0
"""Seconds between polls when neither the task nor ``[runs] default_poll_interval`` says."""


def default_poll_interval() -> float:
    """``[runs] default_poll_interval`` (seconds), 5 by default."""
    return conf.getfloat("runs", "default_poll_interval", fallback=DEFAULT_POLL_INTERVAL)


class WaitArgumentsMixin:
    """Checks for the waiting arguments shared by operators and sensors."""

    @staticmethod
    def check_wait_arguments(
        poll_interval: timedelta | float | None, timeout: Any, max_consecutive_failures: Any
    ) -> tuple[float, float | None]:
        """Check the waiting arguments; return ``(poll_interval, timeout)`` in seconds.

        :param poll_interval: seconds or ``timedelta`` between polls, at most a day; ``None``:
            :func:`default_poll_interval`.
        :param timeout: the longest wait (seconds or ``timedelta``), at most 365 days, or ``None``.
        :param max_consecutive_failures: a positive integer.
        :raises InvalidArgumentError: (a ``ValueError``) naming the bad argument.
        """
        if poll_interval is None:
            poll_interval = default_poll_interval()
        poll = check_seconds(poll_interval, "poll_interval")
        seconds = check_seconds(timeout, "timeout")
        if (
            isinstance(max_consecutive_failures, bool)
            or not isinstance(max_consecutive_failures, int)
            or max_consecutive_failures < 1
        ):
            raise InvalidArgumentError(
                f"max_consecutive_failures must be a positive integer; got {max_consecutive_failures!r}"
            )
        if poll is None:  # not reachable: check_seconds returns None only for None
            raise InvalidArgumentError("poll_interval must be a positive number of seconds")
        return poll, seconds
