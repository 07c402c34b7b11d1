"""The generic deferrable waiter: polls a run until it ends, then yields exactly one event.

One trigger class serves every service: the service is named by its descriptor's name
(``service="inference_sh"``; see :mod:`airflow_provider_runs.services`), and the service hook's
:meth:`~airflow_provider_runs.hooks.base.RunsHook.aget_status` does the mapping. The serialized
kwargs are primitives only (no secret: the hook reads the key from the connection inside the
triggerer), and the deadline is an absolute UNIX time, so a restarted or moved trigger keeps the
original clock.

Triggers serialized by earlier versions are still read: ``hook_class`` (the hook's dotted path)
in place of ``service``, and raw service statuses (``"BLOCKED"``, ``"STOPPED"``) in
``stop_on_states``, which read as :class:`~airflow_provider_runs.core.states.ActionNeeded` reasons.

Where the service can read many runs in one request (:attr:`RunsHook.batch_size`), the trigger's
polls go through its process's shared :mod:`~airflow_provider_runs.triggers.poller` of the
connection, which also owns the wait between polls; the deadline, the single event and the
serialized form stay the trigger's.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Any, TypeVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_runs.core.http import request_deadline
from airflow_provider_runs.core.retry import NO_RETRY
from airflow_provider_runs.core.states import RunStatus, StopCondition, stop_condition
from airflow_provider_runs.core.timers import coalesced_sleep
from airflow_provider_runs.hooks.base import RunsHook
from airflow_provider_runs.services import service_named
from airflow_provider_runs.triggers.poller import PULL_FORWARD, StatusPoller, status_poller
from airflow_provider_runs.waiting.hold import hold_kwargs, read_holds
from airflow_provider_runs.waiting.waiter import EVENT_ERROR, RunWaiter, Step

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """Await ``awaitable`` for at most ``seconds`` (``TimeoutError`` after); one timer."""
    timeout = getattr(asyncio, "timeout", None)  # Python 3.11+: no extra task
    if timeout is None:
        return await asyncio.wait_for(awaitable, seconds)
    async with timeout(seconds):
        return await awaitable


def load_hook_class(path: str) -> type[RunsHook]:
    """Import a hook class by dotted path, accepting only :class:`RunsHook` subclasses."""
    from airflow.providers.common.compat.module_loading import import_string

    return _checked_hook(import_string(path), path)


def service_hook_class(name: str) -> type[RunsHook]:
    """The hook class of the service called ``name`` (its descriptor's hook)."""
    return _checked_hook(service_named(name).load_hook(), name)


def _checked_hook(hook_class: Any, what: str) -> type[RunsHook]:
    if not isinstance(hook_class, type) or not issubclass(hook_class, RunsHook):
        raise TypeError(f"{what} does not name a RunsHook subclass")
    return hook_class


def read_stop_conditions(names: Iterable[Any], log: Any) -> tuple[StopCondition, ...]:
    """Read serialized ``stop_on_states``: ``RunState`` and ``ActionNeeded`` names (the raw
    statuses ``"BLOCKED"``/``"STOPPED"`` of earlier versions read as ``ActionNeeded`` reasons).
    An unknown name is logged and ignored: a serialized trigger never fails on it."""
    conditions: dict[StopCondition, None] = {}
    for name in names:
        try:
            conditions[stop_condition(name)] = None
        except ValueError:
            log.warning("Ignoring stop_on_states entry %r: not a RunState or ActionNeeded name.", name)
    return tuple(conditions)


def class_path(cls: type) -> str:
    """The dotted import path of a class."""
    return f"{cls.__module__}.{cls.__qualname__}"


class RunStatusTrigger(BaseTrigger):
    """Wait for a remote run to reach a terminal state, asynchronously, in the triggerer.

    :param service: the service's name (``ServiceDescriptor.name``, e.g. ``"inference_sh"``); its
        descriptor names the hook.
    :param conn_id: the Airflow connection id of the service.
    :param run_id: the remote run's id.
    :param poll_interval: seconds between two status polls.
    :param deadline: absolute UNIX time after which a ``timeout`` event is yielded; ``None``
        waits forever.
    :param cancel_on_kill: cancel the remote run when a user kills the task (marks it failed or
        clears it), where the service can cancel. Never on triggerer shutdown or restart.
    :param max_consecutive_failures: transient polling failures (429, 5xx, timeouts, resets)
        are ridden out with backoff; this many in a row yield an ``error`` event.
    :param stop_on_states: names of stop conditions that also end the wait: non-terminal
        :class:`~airflow_provider_runs.core.states.RunState` names (``["NEEDS_ACTION"]`` when the
        operator must act on any paused run) or :class:`~airflow_provider_runs.core.states.ActionNeeded`
        names (``["BLOCKED"]``: a run paused for that reason). Unknown names are logged and ignored.
    :param hook_params: extra primitive keyword arguments for the hook's constructor.
    :param run_url: the run's URL, quoted in event messages.
    :param hook_class: the hook's dotted path, as triggers serialized by earlier versions name the
        service (read in place of ``service``; a trigger built with it serializes it again).
    :param wait_started: UNIX time the task began waiting (default: when this trigger is built),
        kept across triggerer restarts so that the task's summary says how long the wait took.
    :param hold: grace seconds by :class:`~airflow_provider_runs.core.states.RunState` name
        (``{"FAILED": 30.0}``): such a status ends the wait only once it has held that long
        (:mod:`~airflow_provider_runs.waiting.hold`; the deadline is not moved). Unknown names are
        logged and ignored; triggers serialized before this argument existed hold nothing.

    Each change of the run (never each poll) is one line of the class's logger (one logger for
    every trigger of the process: a logger bound per wait would cost every wait long-lived
    objects). In Airflow 3 the triggerer tags every line logged while a trigger runs with its id
    and files it beside that task's log, where the task log shows it; the triggerer's own output
    does not get it.
    """

    def __init__(
        self,
        *,
        service: str | None = None,
        conn_id: str,
        run_id: str,
        poll_interval: float = 5.0,
        deadline: float | None = None,
        cancel_on_kill: bool = False,
        max_consecutive_failures: int = 10,
        stop_on_states: list[str] | None = None,
        hook_params: dict[str, Any] | None = None,
        run_url: str | None = None,
        hook_class: str | None = None,
        wait_started: float | None = None,
        hold: dict[str, float] | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.hook_class = hook_class
        self.conn_id = conn_id
        self.run_id = run_id
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline) if deadline is not None else None
        self.cancel_on_kill = bool(cancel_on_kill)
        self.max_consecutive_failures = int(max_consecutive_failures)
        self.stop_conditions = read_stop_conditions(stop_on_states or (), self.log)
        self.stop_on_states = [c.value for c in self.stop_conditions]
        self.hook_params = dict(hook_params or {})
        self.run_url = run_url
        self.wait_started = float(wait_started) if wait_started is not None else time.time()
        self.hold = hold_kwargs(read_holds(hold, log=self.log))
        self._hook: RunsHook | None = None
        self._hook_cls: type[RunsHook] | None = None
        self._batched = False
        """Whether the last poll went through a shared poller (which then owns the wait)."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and primitive kwargs; never a secret."""
        return (
            class_path(type(self)),
            {
                **self._service_kwargs(),
                "conn_id": self.conn_id,
                "run_id": self.run_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "cancel_on_kill": self.cancel_on_kill,
                "max_consecutive_failures": self.max_consecutive_failures,
                "stop_on_states": list(self.stop_on_states),
                "hook_params": dict(self.hook_params),
                "run_url": self.run_url,
                "wait_started": self.wait_started,
                "hold": dict(self.hold),
            },
        )

    def _service_kwargs(self) -> dict[str, Any]:
        """How the serialized form names the service: as it was given (a legacy ``hook_class``
        stays one, so a custom hook subclass survives the round trip)."""
        if self.service is None and self.hook_class is not None:
            return {"hook_class": self.hook_class}
        return {"service": self.service}

    def hook_type(self) -> type[RunsHook]:
        """The service's hook class (imported once)."""
        if self._hook_cls is None:
            if self.service is None and self.hook_class is not None:
                self._hook_cls = load_hook_class(self.hook_class)
            else:
                self._hook_cls = service_hook_class(str(self.service))
        return self._hook_cls

    @property
    def hook(self) -> RunsHook:
        """The service hook, without internal retries: this trigger's loop retries."""
        if self._hook is None:
            self._hook = self.hook_type()(self.conn_id, retry=NO_RETRY, **self.hook_params)
        return self._hook

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the run ends, the deadline passes, or polling fails for good.

        Exactly one event, whatever happens: any exception in the loop (the deadline check, the
        sleep, a bug) becomes an ``error`` event rather than a crash of the trigger.
        """
        waiter: RunWaiter | None = None
        try:
            waiter = RunWaiter(
                self.run_id,
                poll_interval=self.poll_interval,
                deadline=self.deadline,
                max_consecutive_failures=self.max_consecutive_failures,
                stop_on_states=self.stop_conditions,
                run_url=self.run_url,
                log=self.logger(),  # one logger for every trigger: none bound per wait
                started=self.wait_started,
                hold=self.hold,
            )
            delay = window = 0.0  # with a shared poller, the wait before the next poll is its job
            while True:
                event = waiter.check_deadline()
                if event is not None:
                    break
                step = await self._poll(waiter, delay, window)
                delay = window = 0.0
                if step is None:  # the poll was cut at the deadline: the check above ends it
                    continue
                if step.event is not None:
                    event = step.event
                    break
                if self._batched:
                    delay = step.sleep
                    window = PULL_FORWARD * step.sleep if waiter.failures == 0 else 0.0
                else:
                    await coalesced_sleep(step.sleep)
        except Exception as exc:
            event = self._crash_event(waiter, exc)
        yield TriggerEvent(event)

    async def _poll(self, waiter: RunWaiter, delay: float = 0.0, window: float = 0.0) -> Step | None:
        """One status poll (after ``delay`` seconds when a shared poller sends it), never outliving
        the deadline; ``None`` when the deadline cut it."""
        remaining = waiter.remaining()
        loop = asyncio.get_running_loop()
        cut_at = None if remaining is None else loop.time() + max(remaining, 0.0)
        try:
            if remaining is None:
                status: RunStatus = await self._status(delay, window)
            else:
                # Every request in the poll is cut at the deadline, and the poll as a whole too
                # (reading the connection included); the transport then arms no timer of its own.
                with request_deadline(waiter.deadline, enforced=True):
                    status = await within(self._status(delay, window), max(remaining, 0.0))
        except Exception as exc:  # every failure becomes an event or a retry, never a crash
            cut = isinstance(exc, TimeoutError | asyncio.TimeoutError)
            if cut and cut_at is not None and loop.time() >= cut_at:
                return None
            return waiter.on_error(exc)
        return waiter.on_status(status)

    async def _status(self, delay: float, window: float) -> RunStatus:
        """The run's status: from this process's shared poller of the connection when the service
        has a batch read (the run's own read when the batch did not answer for it), else the run's
        own read."""
        poller = self._poller()
        if poller is not None:
            status = await poller.status(self.run_id, delay=delay, window=window)
            if status is not None:
                return status
        return await self.hook.aget_status(self.run_id)

    def _poller(self) -> StatusPoller | None:
        """This loop's poller of the connection, looked up once per loop (every poll asks)."""
        loop = asyncio.get_running_loop()
        cached = self.__dict__.get("_poller_of_loop")
        if cached is not None and cached[0]() is loop:
            return cached[1]
        poller = status_poller(self.hook_type(), self.conn_id, self.hook_params)
        self._batched = poller is not None
        self.__dict__["_poller_of_loop"] = (weakref.ref(loop), poller)
        return poller

    def _crash_event(self, waiter: RunWaiter | None, exc: BaseException) -> dict[str, Any]:
        message = f"Waiting for run {self.run_id} failed: {type(exc).__name__}: {exc}"
        self.log.exception("Waiting for run %s failed unexpectedly", self.run_id)
        try:
            if waiter is not None:
                return waiter.event(EVENT_ERROR, message)
        except Exception:  # the event itself failed to build: a bare one
            pass
        return {
            "event": EVENT_ERROR,
            "run_id": self.run_id,
            "status": None,
            "message": message,
            "run_url": self.run_url,
        }

    async def on_kill(self) -> None:
        """Cancel the remote run when a user killed the task and ``cancel_on_kill`` is set.

        Airflow 3.3+ calls this only on a user action (mark failed/success, clear), never on a
        triggerer restart. Idempotent: cancelling a finished run is not an error.
        """
        if not self.cancel_on_kill:
            self.log.info("Task killed; run %s keeps going (cancel_on_kill=False).", self.run_id)
            return
        hook = self.hook
        if not hook.supports_cancel:
            self.log.info("Task killed; %s cannot cancel, run %s keeps going.", hook.service, self.run_id)
            return
        self.log.info("Task killed by a user: cancelling run %s.", self.run_id)
        await asyncio.wait_for(hook.acancel_run(self.run_id), timeout=25)
