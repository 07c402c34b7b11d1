"""One status poller per service connection and event loop: many waiting runs, few requests.

Every waiting trigger of a service with a batch status read (:attr:`RunsHook.batch_size` > 0)
asks the poller of its (hook class, connection, hook parameters) on its event loop for its next
status with :meth:`StatusPoller.status`, saying how long to wait first. The poller owns the
schedule:

- a run is **due** at ``now + delay``, rounded up to the coalescing tick of
  :func:`~airflow_provider_runs.core.timers.coalesced_wake_time` (a first poll, ``delay`` 0, to
  the next :data:`~airflow_provider_runs.core.timers.MAX_TICK` tick, so triggers starting within
  a quarter second share it); one timer (the earliest due run's) wakes the poller;
- at a wake-up the due runs are packed into as few batches as :attr:`RunsHook.batch_size`
  allows (a run group counts :meth:`RunsHook.batch_cost`; a run asked by two triggers is sent
  once); the last batch is **filled** with runs that are not due yet but are within their
  pull-forward window (after a successful poll: :data:`PULL_FORWARD` of the sleep, nearest due
  first), so that runs converge on shared poll instants: their next polls are then due together,
  and N runs polled every few seconds settle to about ``ceil(N / batch_size)`` requests a sweep;
- when the connection's request budget has no slot free at a wake-up, the poller waits for the
  slot **before** choosing the batch, so the request leaves with every run due by then instead of
  a first few (on a tight budget, cohorts merge instead of queueing small batches);
- each batch is one :meth:`RunsHook.abatch_status` call in its own task; a run it answers gets
  its status, a run it leaves out (or any run when the service has no batch read after all) gets
  ``None`` and the trigger reads it with its own ``aget_status``; an error of the batch request
  is raised to every trigger of the batch, whose :class:`~airflow_provider_runs.waiting.waiter.RunWaiter`
  applies its own rules.

There is no cap per tick (unlike :func:`~airflow_provider_runs.core.timers.coalesced_sleep`): a
batch is one request whatever its size. The poller holds nothing a restart would lose: a trigger
still owns its deadline, its single event and its serialized form, and a trigger rebuilt in a new
process joins that process's poller. A trigger cancelled while it waits leaves nothing behind: its
ask is dropped, a batch in flight whose triggers are all gone is cancelled, and a poller with no
ask cancels its timer (it keeps only its hook, so the connection is read once per process).
"""

from __future__ import annotations

import asyncio
import json
import math
import weakref
from collections.abc import Mapping
from typing import Any

from airflow_provider_runs.core.retry import NO_RETRY
from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.core.timers import MAX_TICK, coalesced_wake_time, sane_seconds
from airflow_provider_runs.hooks.base import RunsHook

PULL_FORWARD = 0.5
"""After a successful poll, a run may be polled this fraction of its sleep early, in a batch that
goes out anyway and has room. After a failed poll a run waits its full backoff."""
EARLY_WAKE = 0.001
"""Seconds a timer may fire early (the loop's clock resolution) and still count a run as due."""


class _Ask:
    """One trigger's wait for its next status."""

    __slots__ = ("batch", "cost", "due", "earliest", "future", "run_id")

    def __init__(self, run_id: str, due: float, earliest: float, cost: int, future: asyncio.Future) -> None:
        self.run_id = run_id
        self.due = due
        self.earliest = earliest
        self.cost = cost
        self.future: asyncio.Future[RunStatus | None] = future
        self.batch: _Batch | None = None


class _Batch:
    """Runs sent in one :meth:`RunsHook.abatch_status` call, each with the asks it answers."""

    __slots__ = ("asks", "cost", "task")

    def __init__(self) -> None:
        self.asks: dict[str, list[_Ask]] = {}
        self.cost = 0
        self.task: asyncio.Task[None] | None = None

    def add(self, ask: _Ask) -> None:
        if ask.run_id not in self.asks:
            self.asks[ask.run_id] = []
            self.cost += ask.cost
        self.asks[ask.run_id].append(ask)
        ask.batch = self

    def abandoned(self) -> bool:
        return all(ask.future.done() for asks in self.asks.values() for ask in asks)


def plan_batches(due: list[_Ask], early: list[_Ask], size: int) -> list[_Batch]:
    """Pack due asks (in due order) into batches of at most ``size`` cost, then fill the last
    batch with early asks (in due order) that fit; an ask of a run already in a batch joins it.

    A run whose cost alone exceeds ``size`` gets a batch of its own (the hook pages it)."""
    batches: list[_Batch] = []
    placed: dict[str, _Batch] = {}
    for ask in due:
        batch = placed.get(ask.run_id)
        if batch is None:
            if not batches or (batches[-1].cost and batches[-1].cost + ask.cost > size):
                batches.append(_Batch())
            batch = placed[ask.run_id] = batches[-1]
        batch.add(ask)
    if not batches:
        return batches
    last = batches[-1]
    for ask in early:
        batch = placed.get(ask.run_id)
        if batch is None and last.cost + ask.cost <= size:
            batch = placed[ask.run_id] = last
        if batch is not None:
            batch.add(ask)
    return batches


class StatusPoller:
    """The shared status poller of one service connection on one event loop (see the module doc).

    :param hook: the hook its batch reads go through (without retries: each trigger retries by its
        own rules).
    """

    def __init__(self, hook: RunsHook) -> None:
        self.hook = hook
        self._asks: set[_Ask] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batch_calls = 0
        """How many batch reads this poller sent (for tests and benchmarks)."""

    @property
    def waiting(self) -> int:
        """Asks not sent yet."""
        return len(self._asks)

    @property
    def in_flight(self) -> int:
        """Batch reads in flight."""
        return len(self._tasks)

    @property
    def idle(self) -> bool:
        """No ask waits, no timer is armed and no batch is in flight."""
        return not self._asks and self._timer is None and not self._tasks

    async def status(self, run_id: str, *, delay: float = 0.0, window: float = 0.0) -> RunStatus | None:
        """The run's status, read in a batch about ``delay`` seconds from now (at most ``window``
        seconds earlier when a batch with room goes out then); ``None`` when the batch did not
        answer for the run (the caller reads it on its own). Errors of the batch read are raised.
        """
        loop = asyncio.get_running_loop()
        now = loop.time()
        delay = sane_seconds(delay)
        # A first poll (delay 0) goes on the next shared tick, with the triggers starting about now.
        due = coalesced_wake_time(now, delay) if delay > 0 else math.ceil(now / MAX_TICK) * MAX_TICK
        earliest = due - min(sane_seconds(window), delay)
        ask = _Ask(run_id, due, earliest, self._cost(run_id), loop.create_future())
        self._asks.add(ask)
        self._arm(loop, due)
        try:
            return await ask.future
        finally:
            self._leave(ask)

    def _cost(self, run_id: str) -> int:
        try:
            return max(1, int(self.hook.batch_cost(run_id)))
        except Exception:
            return 1

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None and self._timer_at <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._fire)
        self._timer_at = when

    def _leave(self, ask: _Ask) -> None:
        """Forget a finished or cancelled ask; stop what only it kept going."""
        self._asks.discard(ask)
        future = ask.future
        if future.done() and not future.cancelled():
            future.exception()  # retrieved: a waiter cancelled just after delivery logs nothing
        batch = ask.batch
        if batch is not None and batch.task is not None and not batch.task.done() and batch.abandoned():
            batch.task.cancel()
        if not self._asks and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        """The timer: send the due runs (and fill the last batch with early ones), re-arm."""
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        due: list[_Ask] = []
        early: list[_Ask] = []
        for ask in self._asks:
            if ask.due <= now + EARLY_WAKE:
                due.append(ask)
            elif ask.earliest <= now:
                early.append(ask)
        wait = self._budget_wait() if due else 0.0
        if wait > EARLY_WAKE:  # the connection's budget has no slot yet: choose the batch then
            self._arm(loop, now + wait)
            return
        if due:
            due.sort(key=lambda a: a.due)
            size = int(getattr(self.hook, "batch_size", 0) or 0)
            if size <= 0:  # no batch read (any more): every due run reads on its own
                for ask in due:
                    self._asks.discard(ask)
                    if not ask.future.done():
                        ask.future.set_result(None)
            else:
                early.sort(key=lambda a: a.due)
                for batch in plan_batches(due, early, size):
                    for asks in batch.asks.values():
                        self._asks.difference_update(asks)
                    task = loop.create_task(self._send(batch))
                    batch.task = task
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        if self._asks:
            self._arm(loop, min(ask.due for ask in self._asks))

    def _budget_wait(self) -> float:
        """Seconds until the connection's request budget lets a request out (``0`` without one,
        or before the hook's first request built its transport)."""
        try:
            limiter = self.hook.request_limiter()
            return 0.0 if limiter is None else sane_seconds(limiter.next_slot_in())
        except Exception:  # a budget that cannot tell must not stop the polls
            return 0.0

    async def _send(self, batch: _Batch) -> None:
        """One batch read; every ask of the batch gets an answer, whatever happens."""
        answers: Mapping[str, RunStatus] = {}
        error: BaseException | None = None
        try:
            self.batch_calls += 1
            answers = await self.hook.abatch_status(list(batch.asks))
        except Exception as exc:  # the triggers decide: retry with backoff or give up
            error = exc
        finally:  # cancelled (all its triggers left, or the loop stops): the rest read on their own
            for run_id, asks in batch.asks.items():
                status = answers.get(run_id) if isinstance(answers, Mapping) else None
                for ask in asks:
                    if ask.future.done():
                        continue
                    if error is not None:
                        ask.future.set_exception(error)
                    else:
                        ask.future.set_result(status)


_POLLERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str, str], StatusPoller]] = (
    weakref.WeakKeyDictionary()
)
"""Per event loop: the poller of each (hook class, connection, hook parameters)."""


def status_poller(
    hook_class: type[RunsHook], conn_id: str, hook_params: Mapping[str, Any] | None = None
) -> StatusPoller | None:
    """This event loop's poller for a service connection; ``None`` when the service has no batch
    status read. Its hook is built like the trigger's (``retry=NO_RETRY``, ``hook_params``)."""
    if int(getattr(hook_class, "batch_size", 0) or 0) <= 0:
        return None
    params = dict(hook_params or {})
    key = (
        f"{hook_class.__module__}.{hook_class.__qualname__}",
        conn_id,
        json.dumps(params, sort_keys=True, default=repr),
    )
    pollers = _POLLERS.setdefault(asyncio.get_running_loop(), {})
    poller = pollers.get(key)
    if poller is None:
        poller = pollers[key] = StatusPoller(hook_class(conn_id, retry=NO_RETRY, **params))
    return poller
