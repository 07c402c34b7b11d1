"""How both drivers retry a request (tenacity), and what a failed write becomes.

Idempotent requests are retried on 429, 5xx, timeouts and resets with exponential backoff, full
jitter and ``Retry-After``; with a limiter, 429s are retried once its pause allows and do not spend
the attempt budget (bounded by time instead). Non-idempotent writes are retried only when the
request provably never reached the service (:class:`NotSentError`) or was refused with 429; any
other failure becomes :class:`AmbiguousWriteError` so the caller can look the resource up before
writing again.
"""

from __future__ import annotations

import logging
import time
from typing import Any, TypeVar

import tenacity

from airflow_provider_runs.core.errors import (
    AmbiguousWriteError,
    NotSentError,
    RateLimitedError,
    RunsApiError,
    TransientError,
)
from airflow_provider_runs.core.http.config import TransportConfig, path_only
from airflow_provider_runs.core.http.deadline import deadline_remaining
from airflow_provider_runs.core.http.request import ApiRequest
from airflow_provider_runs.core.limiter import BudgetWaitError
from airflow_provider_runs.core.retry import RetryPolicy

log = logging.getLogger(__name__)

RATE_LIMITED_MAX_ATTEMPTS = 20
"""With a limiter: the most 429s one call rides out (they do not spend ``max_attempts``; the retry
policy's ``max_retry_after`` bounds their total time, and the call's deadline still applies)."""

R = TypeVar("R", tenacity.Retrying, tenacity.AsyncRetrying)
_FACTS = ("service", "method", "path", "status_code", "remote_message", "code")
"""What an :class:`AmbiguousWriteError` keeps of the failure it replaces."""


def retrying_for(config: TransportConfig, req: ApiRequest, kind: type[R]) -> R | None:
    """The tenacity controller (``kind``: ``Retrying`` or ``AsyncRetrying``) of one call; ``None``
    when the policy allows one attempt only (the trigger's polls: nothing is built for them)."""
    policy = config.retry
    if policy.max_attempts <= 1:
        return None
    describe = f"{req.method} {path_only(req.path)}"
    return kind(**retrying_kwargs(policy, req.repeatable, describe, config.limiter is not None))


def should_retry(exc: BaseException, idempotent: bool, policy: RetryPolicy) -> bool:
    """Whether a failed attempt is worth another one (before counting attempts)."""
    if not isinstance(exc, RunsApiError) or not exc.retryable or isinstance(exc, BudgetWaitError):
        return False  # the limiter already found no room before the deadline: no busy retry
    remaining = deadline_remaining()
    if remaining is not None and remaining <= 0:
        return False
    if exc.retry_after is not None and exc.retry_after > policy.max_retry_after:
        return False
    if idempotent:
        return True
    return isinstance(exc, RateLimitedError | NotSentError)


def retrying_kwargs(
    policy: RetryPolicy, idempotent: bool, describe: str, limited: bool = False
) -> dict[str, Any]:
    """tenacity settings of one call. ``limited``: the transport has a limiter, so a 429 is
    backpressure: retried once the limiter lets the next attempt out (its pause honours the
    ``Retry-After``; without one, a jittered backoff), not counted against ``max_attempts``."""
    counts = {"limited": 0, "other": 0}
    started = time.monotonic()

    def outcome(state: tenacity.RetryCallState) -> BaseException | None:
        return state.outcome.exception() if state.outcome else None

    def retry(exc: BaseException) -> bool:
        counts["limited" if limited and isinstance(exc, RateLimitedError) else "other"] += 1
        return should_retry(exc, idempotent, policy)

    def stop(state: tenacity.RetryCallState) -> bool:
        if not limited:
            return state.attempt_number >= policy.max_attempts
        if isinstance(outcome(state), RateLimitedError):
            return (
                counts["limited"] >= RATE_LIMITED_MAX_ATTEMPTS
                or time.monotonic() - started >= policy.max_retry_after
            )
        return counts["other"] >= policy.max_attempts

    def wait(state: tenacity.RetryCallState) -> float:
        exc = outcome(state)
        retry_after = getattr(exc, "retry_after", None)
        if limited and isinstance(exc, RateLimitedError):
            # the limiter (paused by the Retry-After, slowed by the 429) spaces the next attempt;
            # a backoff never outlasts the call's patience with 429s (max_retry_after)
            seconds = 0.0 if retry_after is not None else policy.backoff(counts["limited"])
            seconds = min(seconds, max(0.0, policy.max_retry_after - (time.monotonic() - started)))
        else:
            seconds = policy.backoff(counts["other"] if limited else state.attempt_number, retry_after)
        remaining = deadline_remaining()
        return seconds if remaining is None else max(0.0, min(seconds, remaining))

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = outcome(state)
        if limited and isinstance(exc, RateLimitedError):
            log.info(
                "%s was rate-limited (%d in this call), retrying when the request budget allows "
                "(backoff %.1fs): %s",
                describe,
                counts["limited"],
                state.upcoming_sleep,
                exc,
            )
            return
        log.warning(
            "%s failed (attempt %d of %d), retrying in %.1fs: %s",
            describe,
            counts["other"] if limited else state.attempt_number,
            policy.max_attempts,
            state.upcoming_sleep,
            exc,
        )

    return {
        "stop": stop,
        "wait": wait,
        "retry": tenacity.retry_if_exception(retry),
        "before_sleep": before_sleep,
        "reraise": True,
    }


def ambiguous(exc: RunsApiError, req: ApiRequest) -> RunsApiError:
    """``exc``, or for a failed write that may have landed an :class:`AmbiguousWriteError`."""
    if not isinstance(exc, TransientError) or isinstance(exc, NotSentError) or req.repeatable:
        return exc
    facts = {name: getattr(exc, name) for name in _FACTS}
    err = AmbiguousWriteError(exc.message + "; the request may have reached the service", **facts)
    err.__cause__ = exc
    return err
