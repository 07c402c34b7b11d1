"""What a wait tells the task log: one line per change of a run, never one per poll, and a summary
at the end.

:class:`ChangeLog` is fed every status a wait sees (by :class:`~.waiter.RunWaiter`, so the trigger,
the operators' worker loop and the sensors' pokes share it). Per poll it compares one small tuple
with the previous one; text is built only when something changed. In the triggerer its lines
go to the trigger's logger, which Airflow 3 writes to the deferred task's own log (the triggerer
tags each line with the trigger's id and files it beside the task's log, whose reader
interleaves both), not to the triggerer's output.

A state table reports the service's progress under ``RunStatus.details[PROGRESS]``: a small dict
of names to counts or short values (``{"outputs": 120}``, ``{"runs_done": "1/3"}``). A poll whose
status carries no progress (a lighter endpoint) keeps the progress seen before: it is not a change.
Changes of state are logged at once; changes of detail within a state (the service's status
names, progress) at most every :data:`DETAIL_EVERY` seconds, so no run logs a line per poll.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from airflow_provider_runs.core.redaction import Redactor
from airflow_provider_runs.core.states import PROGRESS, RunState, RunStatus

DETAIL_EVERY = 30.0
"""The shortest time between two lines that report a change of detail alone: a service status
name or progress facts within the same state (seconds)."""
TAIL_LINES = 20
"""The most lines of a failed run's own log quoted in the task log."""
TAIL_CHARS = 2000
"""The most characters of a failed run's own log quoted in the task log."""


class ChangeLog:
    """Log a run's changes, at most one line per change and never one per poll.

    A change of the run's state (:class:`~airflow_provider_runs.core.states.RunState`), of what a
    paused run waits for, or of a parking date is logged at once. A change of detail within the
    same state (the service's own status name, the progress facts) is logged at most every
    ``detail_every`` seconds, with the latest detail: a service whose status names or counts move
    at every poll still gets no line per poll.

    A poll that changes nothing costs a few comparisons and allocates nothing (in a triggerer
    with thousands of waits, every object a poll allocates brings the next full garbage
    collection of its large heap nearer). :class:`~.waiter.RunWaiter` is one, so a wait carries
    no extra object for it.

    :param run_id: the remote run's id.
    :param log: where the lines go (a ``logging`` or Airflow task logger).
    :param detail_every: the shortest time between two lines for a change of detail (seconds).
    :param clock: the monotonic clock (seconds).
    """

    def __init__(
        self,
        run_id: str,
        log: Any,
        *,
        detail_every: float = DETAIL_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id = run_id
        self.log = log
        self.detail_every = detail_every
        self.changes = 0
        """How many changes were taken (the first status counts as one)."""
        self._clock = clock
        self._logged_at = -math.inf
        # The last change taken: its state, pause, reason, parking date, raw status, progress.
        self._state: RunState | None = None
        self._action: Any = None
        self._reason: Any = None
        self._postponed: Any = None
        self._raw: Any = None
        self._progress: Any = None

    def observe(self, status: RunStatus, *, quiet: bool = False) -> bool:
        """Note ``status``; log one line when it differs from the last one taken (nothing when
        ``quiet``: the summary at the end says it). Return whether a change was taken."""
        details = status.details
        state, action, raw = status.state, status.action, status.raw_status
        progress = details.get(PROGRESS)
        if progress is None:  # a lighter read without progress facts: the last ones still hold
            progress = self._progress
        reason = status.message if action is not None else None  # what a pause waits for
        postponed = details.get("postponed_until")
        if (
            state is self._state
            and action is self._action
            and reason == self._reason
            and postponed == self._postponed
            and (state is not RunState.UNKNOWN or raw == self._raw)
        ):
            if raw == self._raw and progress == self._progress:
                return False
            now = self._clock()
            if now - self._logged_at < self.detail_every and not quiet:
                return False  # detail alone, soon after the last line: taken at a later poll
        else:
            now = self._clock()
        self._state, self._action, self._reason, self._postponed = state, action, reason, postponed
        self._raw, self._progress, self._logged_at = raw, progress, now
        self.changes += 1
        if not quiet:
            self._log_change(status, progress)
        return True

    def _log_change(self, status: RunStatus, progress: Any) -> None:
        text = describe(status, progress)
        postponed = status.details.get("postponed_until")
        if postponed:
            text += f"; parked by the service until {postponed}, still waiting"
        if status.state is RunState.UNKNOWN:
            self.log.warning(
                "Run %s is %s: a status this provider does not know; still waiting until it ends or "
                "the deadline passes.",
                self.run_id,
                text,
            )
        else:
            self.log.info("Run %s is %s", self.run_id, text)


def describe(status: RunStatus, progress: Any = None, *, message: bool = True) -> str:
    """``status`` in words: its state, the service's status when it says more, the service's
    progress (``progress``, default the status's own) and its message.

    :param status: the status.
    :param progress: progress facts to show in place of the status's own.
    :param message: end with the status's message, when it has one.
    """
    text = status.state.value
    raw, name = status.raw_status, status.details.get("status_name")
    if name and name != raw:
        text += f" (status {raw!r}: {name})"
    elif raw != status.state.value:
        text += f" (status {raw!r})"
    facts = progress_text(progress if progress is not None else status.details.get(PROGRESS))
    if facts:
        text += f"; {facts}"
    if message and status.message:
        text += f": {status.message}"
    return text


def progress_text(progress: Any) -> str:
    """Progress facts as ``name value`` pairs (``outputs 1,200, runs done 1/3``); ``""`` for none.

    :param progress: a mapping of names to values (anything else shows nothing).
    """
    if not isinstance(progress, Mapping):
        return ""
    return ", ".join(f"{str(name).replace('_', ' ')} {_number(value)}" for name, value in progress.items())


def _number(value: Any) -> str:
    """An integer with thousands separators; anything else as it is."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def counts_of(manifest: Any, status: RunStatus) -> dict[str, int]:
    """The counts a finished wait can report: the integers of the task's result (``manifest``),
    else the status's progress counts.

    :param manifest: the task's result (a dict), or ``None`` when the task failed.
    :param status: the final status.
    """
    source = manifest if isinstance(manifest, Mapping) else status.details.get(PROGRESS)
    if not isinstance(source, Mapping):
        return {}
    return {str(k): v for k, v in source.items() if isinstance(v, int) and not isinstance(v, bool)}


def summary(run_id: str, status: RunStatus, waited: float | None, counts: Mapping[str, int]) -> str:
    """The last line of a wait: final state, how long it waited, counts where known.

    :param run_id: the remote run's id.
    :param status: the final status.
    :param waited: seconds the wait took, when known.
    :param counts: counts to report (name to number).
    """
    text = f"Run {run_id} ended {describe(status, {}, message=False)}"
    if waited is not None:
        text += f" after {duration_text(waited)}"
    if counts:
        text += f" ({progress_text(counts)})"
    return text + (f": {status.message}" if status.message else ".")


def duration_text(seconds: float) -> str:
    """``12.3s`` under a minute, else ``H:MM:SS``.

    :param seconds: the duration.
    """
    seconds = max(0.0, float(seconds))
    return f"{seconds:.1f}s" if seconds < 60 else str(timedelta(seconds=round(seconds)))


def log_tail(text: str, redactor: Redactor, *, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The end of a run's log: its last ``lines`` non-empty lines, at most ``chars`` characters,
    secrets redacted before the cut (a cut never keeps part of a key).

    :param text: the whole log text.
    :param redactor: hides the connection's key.
    :param lines: the most lines kept.
    :param chars: the most characters kept.
    """
    kept = [line.rstrip() for line in redactor(text).splitlines() if line.strip()][-lines:]
    tail = "\n".join(kept)
    if len(tail) > chars:
        tail = "..." + tail[-chars:]
    return tail
