"""Wait, in the triggerer, for an Edges schedule to start its next run.

One poll is one narrow request (:meth:`~airflow_provider_runs.hooks.edges.EdgesHook.afind_schedule_run`).
The trigger yields exactly one event: ``found`` (with the run's uid), ``timeout`` at the absolute
deadline, or ``error`` (polling failed for good). The sensor then waits for the run itself with
the generic :class:`~airflow_provider_runs.triggers.run_status.RunStatusTrigger`.

Serialized kwargs are primitives (ids, the cut-off as ISO text, the absolute deadline); never a
secret. Nothing blocks: the hook's async driver reads the connection and sends the request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_runs.core.errors import RateLimitedError, RunsApiError
from airflow_provider_runs.core.retry import DEFAULT_RETRY, NO_RETRY
from airflow_provider_runs.core.timers import sane_seconds
from airflow_provider_runs.validation import parse_timestamp

EVENT_FOUND = "found"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"


class EdgesScheduleRunTrigger(BaseTrigger):
    """Poll for the first run a schedule created at or after a cut-off.

    :param conn_id: the Edges connection id.
    :param schedule_uid: the schedule's uid.
    :param action_name: the schedule's action (the list filter).
    :param created_after: the cut-off, ISO 8601 text with an offset.
    :param poll_interval: seconds between polls.
    :param deadline: absolute UNIX time of the ``timeout`` event; ``None`` waits forever.
    :param max_consecutive_failures: transient failures in a row (5xx, timeouts, resets) before
        an ``error`` event; a 429 is backpressure and never counts.
    :param schedule_url: the schedule's page, quoted in messages.
    :param hook_params: extra primitive keyword arguments of the hook.
    """

    def __init__(
        self,
        *,
        conn_id: str,
        schedule_uid: str,
        action_name: str,
        created_after: str,
        poll_interval: float = 60.0,
        deadline: float | None = None,
        max_consecutive_failures: int = 10,
        schedule_url: str | None = None,
        hook_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.schedule_uid = schedule_uid
        self.action_name = action_name
        self.created_after = created_after
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline) if deadline is not None else None
        self.max_consecutive_failures = int(max_consecutive_failures)
        self.schedule_url = schedule_url
        self.hook_params = dict(hook_params or {})

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and primitive kwargs; never a secret."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "schedule_uid": self.schedule_uid,
                "action_name": self.action_name,
                "created_after": self.created_after,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_consecutive_failures": self.max_consecutive_failures,
                "schedule_url": self.schedule_url,
                "hook_params": dict(self.hook_params),
            },
        )

    def _event(self, kind: str, **fields: Any) -> TriggerEvent:
        return TriggerEvent({"event": kind, "schedule_uid": self.schedule_uid, **fields})

    def _where(self) -> str:
        return f" Schedule: {self.schedule_url}" if self.schedule_url else ""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the schedule's next run exists, the deadline passes, or polling fails for good."""
        from airflow_provider_runs.hooks.edges import EdgesHook  # the hook imports the whole client

        try:
            hook = EdgesHook(self.conn_id, retry=NO_RETRY, **self.hook_params)
            after = parse_timestamp(self.created_after)
            failures = 0
            while True:
                left = None if self.deadline is None else self.deadline - time.time()
                if left is not None and left <= 0:
                    message = (
                        f"Schedule {self.schedule_uid} started no run created at or after "
                        f"{self.created_after} before the timeout.{self._where()}"
                    )
                    yield self._event(EVENT_TIMEOUT, message=message)
                    return
                try:
                    run = await hook.afind_schedule_run(
                        self.schedule_uid, action_name=self.action_name, created_after=after
                    )
                except RunsApiError as exc:
                    if not exc.retryable:
                        yield self._event(EVENT_ERROR, message=f"{exc}.{self._where()}", retryable=False)
                        return
                    if not isinstance(exc, RateLimitedError):
                        failures += 1
                    if failures >= self.max_consecutive_failures:
                        message = (
                            f"Polling schedule {self.schedule_uid} failed {failures} times in a row: {exc}"
                        )
                        yield self._event(EVENT_ERROR, message=message + self._where())
                        return
                    delay = sane_seconds(DEFAULT_RETRY.backoff(max(failures, 1), exc.retry_after))
                    self.log.warning(
                        "Polling schedule %s failed (%s); again in %.1fs", self.schedule_uid, exc, delay
                    )
                else:
                    failures = 0
                    if run is not None:
                        yield self._event(
                            EVENT_FOUND, run_uid=str(run["uid"]), created_at=run.get("created_at")
                        )
                        return
                    delay = self.poll_interval
                left = None if self.deadline is None else self.deadline - time.time()
                await asyncio.sleep(max(0.0, delay if left is None else min(delay, left)))
        except Exception as exc:  # exactly one event, whatever happens
            self.log.exception("Waiting for schedule %s failed unexpectedly", self.schedule_uid)
            yield self._event(EVENT_ERROR, message=f"{type(exc).__name__}: {exc}")
