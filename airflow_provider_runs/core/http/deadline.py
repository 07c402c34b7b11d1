"""The request deadline: a bound on every request sent (sync or async) in a context."""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DEADLINE: contextvars.ContextVar[tuple[float, bool] | None] = contextvars.ContextVar(
    "runs_request_deadline", default=None
)
"""``(absolute UNIX deadline, enforced by the caller)`` for requests sent in this context."""


@contextlib.contextmanager
def request_deadline(deadline: float | None, *, enforced: bool = False) -> Iterator[None]:
    """Requests sent inside the block (sync or async) end by ``deadline`` (UNIX time).

    A request that would start after it is not sent (:class:`NotSentError`); one in flight is cut
    at it (:class:`TransientError`). Nested blocks keep the earlier deadline. ``None`` adds no bound.

    :param deadline: the UNIX time by which every request of the block ends (``None``: no bound).
    :param enforced: the caller itself cancels the work at the deadline (``asyncio.timeout``), so
        the async transport need not arm its own total timer when the deadline is the nearer bound.
    """
    if deadline is None:
        yield
        return
    outer = _DEADLINE.get()
    bound = (float(deadline), enforced) if outer is None or deadline < outer[0] else outer
    token = _DEADLINE.set(bound)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def call_with_deadline(deadline: float | None, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``fn(*args, **kwargs)`` with every request it sends bounded by ``deadline`` (UNIX time).

    :param deadline: the UNIX time by which every request ends (``None``: no bound).
    :param fn: the function to call; ``args`` and ``kwargs`` are passed to it.
    """
    with request_deadline(deadline):
        return fn(*args, **kwargs)


def current_deadline() -> tuple[float, bool] | None:
    """``(UNIX deadline, enforced by the caller)`` in force in this context, or ``None``."""
    return _DEADLINE.get()


def deadline_remaining() -> float | None:
    """Seconds left until the deadline in force (negative once passed), or ``None`` without one."""
    bound = _DEADLINE.get()
    return None if bound is None else bound[0] - time.time()
