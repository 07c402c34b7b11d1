"""A task's ``timeout`` as a deadline: one meaning, computed in one place.

A task's ``timeout`` (seconds, or a ``timedelta``) bounds how long the task waits for its run,
measured from the **first wait of this try**: the operator's first wait after it created or
reattached the run, the sensor's first wait for the run it watches. The wait's deadline is then
an absolute UNIX time (:func:`wait_deadline`), carried unchanged through deferrals, resumes of
a paused run and restarts of the triggerer, so no later step restarts the clock. A new try
starts a new clock.

Airflow's own deferral timeout (:func:`defer_timeout`) is only a backstop, :data:`DEFER_GRACE`
after the deadline: the trigger ends the wait at the deadline with a ``timeout`` event first.
"""

from __future__ import annotations

import time
from datetime import timedelta

DEFER_GRACE = 60.0
"""Seconds Airflow's own deferral timeout waits past the deadline (a backstop only)."""


def wait_deadline(timeout: timedelta | float | None, *, now: float | None = None) -> float | None:
    """The absolute UNIX deadline of a wait of at most ``timeout``.

    :param timeout: the task's ``timeout`` (seconds or ``timedelta``); ``None`` waits forever.
    :param now: when the wait starts (UNIX time); default: now. Call this once, at the first wait
        of the try, and carry the result (see the module docstring).
    :return: ``now + timeout``, or ``None`` without a timeout.
    """
    if timeout is None:
        return None
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    return (time.time() if now is None else now) + seconds


def defer_timeout(deadline: float | None, *, now: float | None = None) -> timedelta | None:
    """Airflow's deferral timeout for a wait ending at ``deadline``: the time left plus
    :data:`DEFER_GRACE` (``None`` without a deadline).

    :param deadline: the wait's absolute UNIX deadline (:func:`wait_deadline`), or ``None``.
    :param now: the current UNIX time; default: now.
    """
    if deadline is None:
        return None
    left = deadline - (time.time() if now is None else now)
    return timedelta(seconds=max(left, 0.0) + DEFER_GRACE)
