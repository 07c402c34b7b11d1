"""Waiting for a remote run, shared by the trigger, the operators and the sensors.

- :mod:`.waiter`: :class:`RunWaiter`, the rules of a wait (no I/O): what ends it, how errors are
  ridden out, the deadline; the event kinds (``EVENT_*``) and :class:`Step`.
- :mod:`.deadline`: a task's ``timeout`` as an absolute deadline, and Airflow's defer timeout.
- :mod:`.task_wait`: :class:`~.task_wait.RunWaitMixin`, what operators and sensors share (hook,
  trigger, worker-side wait, outcome mapping, published run id and URL).
- :mod:`.arguments`: the waiting arguments, checked once (:class:`~.arguments.WaitArgumentsMixin`).
- :mod:`.errors`: how a wait fails a task (:class:`RunFailedError`, :class:`RunFailedNoRetryError`).
- :mod:`.run_record`: what a task instance remembers about its run across retries.
- :mod:`.approval`: asking a human in Airflow (human-in-the-loop) while a run waits.

This package imports no operator, sensor or trigger module at import time (the trigger imports
the waiter), so every one of them can import it.
"""

from __future__ import annotations

from airflow_provider_runs.waiting.deadline import DEFER_GRACE, defer_timeout, wait_deadline
from airflow_provider_runs.waiting.errors import RunFailedError, RunFailedNoRetryError
from airflow_provider_runs.waiting.waiter import EVENT_ERROR, EVENT_STATUS, EVENT_TIMEOUT, RunWaiter, Step

__all__ = [
    "DEFER_GRACE",
    "EVENT_ERROR",
    "EVENT_STATUS",
    "EVENT_TIMEOUT",
    "RunFailedError",
    "RunFailedNoRetryError",
    "RunWaiter",
    "Step",
    "defer_timeout",
    "wait_deadline",
]
