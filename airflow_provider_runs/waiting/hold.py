"""Holding a final status before believing it: a state the service may still take back.

A service may report a state that looks final and then leave it. Inferable's run lifecycle
(``specs/inferable.md`` §3, transition 7) says: *"Transient `failed`: retryable infrastructure
errors (DB, provider 429/5xx) re-run processing (3 attempts total), so `failed` may flip back to
`running`"*; its known unknown 5 recommends: *"Treat `failed` as terminal (as the SDK does);
optionally re-read once after a short delay before raising."* The re-run is a queue retry with no
delay of its own (the run goes back to ``running`` as soon as a worker takes the job again, and
transition 1 says processing then resets ``failureReason`` to ``""``), so a transient ``failed``
lasts seconds, not minutes.

A **hold** is that re-read: a status in a held state (``{RunState.FAILED: 30.0}``) ends the wait
only once it has been seen continuously for its grace, over at least two polls (the first sighting
and a re-read at least the grace later). A poll that sees any other state ends the hold, and the
wait goes on as if the held state had not been seen. The hold never moves the wait's deadline:
when the deadline comes during a hold, the wait ends with the held status (the task fails with
the service's message rather than with a timeout).

:class:`Hold` has no I/O and no clock of its own (the caller passes ``now``), so the trigger's
asynchronous wait and the worker's blocking one apply it identically (both through
:class:`~airflow_provider_runs.waiting.waiter.RunWaiter`); its configuration serializes as
``{state name: seconds}`` (primitives, for trigger kwargs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_runs.core.states import RunState, RunStatus

HoldConfig = Mapping[Any, float]
"""Grace seconds by held state (a :class:`RunState` or its name)."""


def read_holds(config: HoldConfig | None, *, log: Any = None) -> dict[RunState, float]:
    """``config`` checked: states by :class:`RunState` (names read too), graces as positive floats.

    A grace of 0 (or less) holds nothing. An unknown state name is logged and ignored when ``log``
    is given (a serialized trigger never fails on it), else a ``ValueError``.

    :param config: grace seconds by held state, or ``None``.
    :param log: where an unknown name is reported instead of raised.
    """
    holds: dict[RunState, float] = {}
    for name, seconds in (config or {}).items():
        try:
            state = name if isinstance(name, RunState) else RunState(str(name))
            grace = float(seconds)
        except (TypeError, ValueError):
            if log is None:
                raise ValueError(
                    f"a hold takes RunState names and seconds; got {name!r}: {seconds!r}"
                ) from None
            log.warning("Ignoring hold entry %r: %r (not a RunState name and seconds).", name, seconds)
            continue
        if grace > 0:
            holds[state] = grace
    return holds


def hold_kwargs(holds: Mapping[RunState, float]) -> dict[str, float]:
    """The serialized form of :func:`read_holds` output: ``{state name: seconds}``."""
    return {state.value: float(seconds) for state, seconds in holds.items()}


class Hold:
    """How long a status in a held state has been seen, poll after poll.

    :param holds: grace seconds by held state (:func:`read_holds`).
    """

    def __init__(self, holds: HoldConfig | None = None) -> None:
        self.holds = read_holds(holds)
        self.state: RunState | None = None
        """The held state being seen, if any."""
        self.since: float | None = None
        """When the held state was first seen (UNIX time), if it is being held."""

    @property
    def holding(self) -> bool:
        """Whether the last status seen is being held."""
        return self.since is not None

    def judge(self, status: RunStatus, now: float) -> float | None:
        """Report a status seen at ``now``: seconds left to hold it, or ``None`` to believe it.

        A state without a hold (or one held for its whole grace) is believed; a held state first
        seen now starts its grace.
        """
        grace = self.holds.get(status.state)
        if grace is None:
            self.state = self.since = None
            return None
        if self.since is None or self.state is not status.state:
            self.state, self.since = status.state, now
        left = self.since + grace - now
        return left if left > 0 else None

    def grace(self, state: RunState) -> float:
        """The grace of ``state`` (0: not held)."""
        return self.holds.get(state, 0.0)

    def to_value(self, run_id: str) -> dict[str, Any] | None:
        """What a rescheduled sensor keeps between pokes (JSON), ``None`` when not holding."""
        if self.since is None or self.state is None:
            return None
        return {"run_id": run_id, "state": self.state.value, "since": self.since}

    def restore(self, value: Any, run_id: str) -> None:
        """Resume the hold :meth:`to_value` kept for ``run_id`` (anything else is ignored)."""
        if not isinstance(value, dict) or value.get("run_id") != run_id:
            return
        state, since = value.get("state"), value.get("since")
        if state in RunState.__members__ and isinstance(since, int | float):
            self.state, self.since = RunState(state), float(since)
