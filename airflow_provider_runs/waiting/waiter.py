"""The waiting rules, shared by the trigger (async), the operators' worker path and the sensors'
pokes (sync).

:class:`RunWaiter` holds no I/O: the caller polls, reports what it saw, and gets back either
the single final event or how long to sleep. Every path therefore ends runs, rides out errors
and applies the deadline identically.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from airflow_provider_runs.core.errors import RateLimitedError, RunsApiError, retry_cannot_fix
from airflow_provider_runs.core.retry import RetryPolicy
from airflow_provider_runs.core.states import RunStatus, StopCondition, ends_wait, stop_condition
from airflow_provider_runs.core.timers import sane_seconds
from airflow_provider_runs.waiting.hold import Hold, HoldConfig
from airflow_provider_runs.waiting.progress import ChangeLog

EVENT_STATUS = "status"
"""The run reached a terminal state (or one of ``stop_on_states``)."""
EVENT_TIMEOUT = "timeout"
"""The deadline passed while the run was still going."""
EVENT_ERROR = "error"
"""Polling failed for good: a non-retryable error or too many consecutive failures."""

MIN_SLEEP = 0.01
MAX_RETRY_AFTER_WAIT = 600.0
"""The longest a server's ``Retry-After`` holds a wait between two polls (seconds; longer demands,
up to decades, are cut to this, and every sleep is also cut to the deadline)."""
RATE_LIMITED_MAX_BACKOFF = 60.0
"""The longest wait after a 429 without ``Retry-After`` (or the poll interval, when longer)."""


@dataclass(frozen=True)
class Step:
    """What to do after a poll: stop with ``event`` or sleep ``sleep`` seconds and poll again."""

    event: dict[str, Any] | None = None
    sleep: float = 0.0


class RunWaiter(ChangeLog):
    """Decide, poll after poll, whether a run's wait is over, and log each change of the run
    (:class:`~.progress.ChangeLog`: one line per change, never one per poll).

    :param run_id: the remote run's id.
    :param poll_interval: seconds between polls.
    :param deadline: absolute UNIX time of the deadline, or ``None``.
    :param max_consecutive_failures: transient failures (5xx, timeouts, resets) in a row before
        giving up. Rate-limit answers (429, or the connection's request budget having no room)
        are backpressure: they never count, and the next poll waits for the ``Retry-After``, else
        an exponential backoff with jitter (from the poll interval up to
        :data:`RATE_LIMITED_MAX_BACKOFF`); only the deadline ends such a wait.
    :param stop_on_states: stop conditions (see :data:`~airflow_provider_runs.core.states.StopCondition`)
        that also end the wait: a non-terminal ``RunState``, or an ``ActionNeeded`` reason of a
        ``NEEDS_ACTION`` run (their names are read too).
    :param run_url: the run's URL, carried in events.
    :param log: where warnings and the run's changes go (a ``logging`` or Airflow task logger):
        one line per change of the run (:class:`~.progress.ChangeLog`), never one per poll.
    :param started: UNIX time the wait began (default: now), carried in events as
        ``waited_since`` so the task's summary can say how long it waited.
    :param hold: grace seconds by state (:mod:`~airflow_provider_runs.waiting.hold`): a status in
        such a state ends the wait only once it has been seen for its grace (``{"FAILED": 30}``:
        a ``failed`` the service may take back); the deadline is never moved by a hold.
    """

    def __init__(
        self,
        run_id: str,
        *,
        poll_interval: float,
        deadline: float | None,
        max_consecutive_failures: int = 10,
        stop_on_states: Iterable[StopCondition | str] = (),
        run_url: str | None = None,
        log: Any = None,
        started: float | None = None,
        hold: HoldConfig | None = None,
    ) -> None:
        super().__init__(run_id, log or logging.getLogger(__name__))
        self.poll_interval = max(float(poll_interval), MIN_SLEEP)
        self.deadline = deadline
        self.max_consecutive_failures = max(1, int(max_consecutive_failures))
        self.stop_on = frozenset(stop_condition(s) for s in stop_on_states)
        self.run_url = run_url
        self.started = time.time() if started is None else float(started)
        self.failures = 0
        self.rate_limited = 0
        """Rate-limit answers in a row (never ends the wait)."""
        self.last: RunStatus | None = None
        self.hold = Hold(hold)
        self._backoff = RetryPolicy(
            initial_backoff=self.poll_interval,
            max_backoff=max(60.0, self.poll_interval),
            max_retry_after=max(MAX_RETRY_AFTER_WAIT, self.poll_interval),
        )

    def event(self, kind: str, message: str, *, retryable: bool | None = None) -> dict[str, Any]:
        """Build the final event payload (primitives only); ``retryable=False`` marks an error
        that a retry of the task cannot fix (401/403, a rejected request)."""
        payload: dict[str, Any] = {
            "event": kind,
            "run_id": self.run_id,
            "status": self.last.to_dict() if self.last else None,
            "message": message,
            "run_url": self.run_url,
            "waited_since": self.started,
        }
        if retryable is not None:
            payload["retryable"] = retryable
        return payload

    def remaining(self) -> float | None:
        """Seconds until the deadline (``None`` without one)."""
        return None if self.deadline is None else self.deadline - time.time()

    def check_deadline(self) -> dict[str, Any] | None:
        """Return the timeout event when the deadline has passed."""
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            if self.hold.holding and self.last is not None:  # the deadline cuts a hold short
                return self._status_event(self.last)
            return self.event(EVENT_TIMEOUT, self._timeout_message())
        return None

    def on_status(self, status: RunStatus) -> Step:
        """Report a successful poll (a change of the run is logged: :meth:`observe`)."""
        self.failures = 0
        self.rate_limited = 0
        was_holding = self.hold.holding
        self.last = status
        left = self.hold.judge(status, time.time())
        if left is not None:
            if not was_holding:
                self.log.warning(
                    "Run %s reports %r (%s)%s; the service may take it back: reading it again "
                    "for up to %gs before believing it.",
                    self.run_id,
                    status.raw_status,
                    status.state.value,
                    f": {status.message}" if status.message else "",
                    self.hold.grace(status.state),
                )
            return Step(sleep=self._clip(min(self.poll_interval, left)))
        if was_holding and not self.hold.holding:
            self.log.warning("Run %s left the held status: it is %r again.", self.run_id, status.raw_status)
        if ends_wait(status, self.stop_on):
            return Step(event=self._status_event(status))
        self.observe(status)
        return Step(sleep=self._clip(self.poll_interval))

    def _status_event(self, status: RunStatus) -> dict[str, Any]:
        """The event of a status that ends the wait."""
        # A run that ended is told by the task's summary; a pause that ends the wait is news.
        self.observe(status, quiet=status.state.is_terminal)
        return self.event(EVENT_STATUS, f"Run {self.run_id} is {status.state.value}")

    def on_error(self, exc: BaseException) -> Step:
        """Report a failed poll: retry transient errors with backoff, give up on the rest."""
        if not isinstance(exc, RunsApiError):
            detail = f"{type(exc).__name__}: {exc}"
            return Step(event=self.event(EVENT_ERROR, f"Polling run {self.run_id} failed: {detail}"))
        if not exc.retryable:
            message = f"Polling run {self.run_id} failed: {exc}"
            return Step(event=self.event(EVENT_ERROR, message, retryable=not retry_cannot_fix(exc)))
        if isinstance(exc, RateLimitedError):
            return self._on_rate_limited(exc)
        self.failures += 1
        if self.failures >= self.max_consecutive_failures:
            message = f"Polling run {self.run_id} failed {self.failures} times in a row; last error: {exc}"
            return Step(event=self.event(EVENT_ERROR, message))
        delay = max(self._backoff.backoff(self.failures, exc.retry_after), self.poll_interval / 10)
        self.log.warning(
            "Polling run %s failed (%d in a row), next try in %.1fs: %s",
            self.run_id,
            self.failures,
            delay,
            exc,
        )
        return Step(sleep=self._clip(delay))

    def _on_rate_limited(self, exc: RateLimitedError) -> Step:
        """Backpressure: neither counted as a failure nor resetting the count of failures."""
        self.rate_limited += 1
        if exc.retry_after is not None:
            delay = min(exc.retry_after, self._backoff.max_retry_after)
        else:  # Edges sends no Retry-After: exponential backoff with "equal" jitter
            cap = max(RATE_LIMITED_MAX_BACKOFF, self.poll_interval)
            ceiling = min(cap, self.poll_interval * 2 ** min(self.rate_limited, 30))
            delay = random.uniform(ceiling / 2, ceiling)
        delay = max(delay, self.poll_interval / 10)
        log = self.log.warning if self.rate_limited == 1 else self.log.info
        log(
            "Polling run %s was rate-limited (%d in a row; not a failure), next poll in %.1fs: %s",
            self.run_id,
            self.rate_limited,
            delay,
            exc,
        )
        return Step(sleep=self._clip(delay))

    def _clip(self, seconds: float) -> float:
        seconds = sane_seconds(seconds)  # finite, >= 0: time.sleep and the loop's timers take it
        remaining = self.remaining()
        if remaining is not None:
            seconds = min(seconds, sane_seconds(remaining))
        return seconds

    def _timeout_message(self) -> str:
        text = f"Run {self.run_id} did not finish before the deadline"
        if self.last is not None:
            text += f"; last status {self.last.raw_status!r} ({self.last.state.value})"
            note = self.last.details.get("note")
            if note:
                text += f"; {note}"
        return text
