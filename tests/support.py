"""Test doubles for the Airflow task context (pure data, no patching of HTTP)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

from airflow.providers.common.compat.module_loading import import_string
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_runs.links import RUN_ID_XCOM_KEY

TEST_KEY = "inf_TESTKEY_0123456789abcdef"
"""A recognizable API key: tests assert it appears nowhere."""
EDGES_KEY = "edges_integration_key_0001"
"""The key of the integration tests' module Edges emulators (``edges_server``)."""


class FakeStateStore:
    """A dict-backed ``task_state_store`` (Airflow 3.3 semantics: survives retries)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key`` (``default`` when absent)."""
        return self.data.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        """Keep ``value`` (JSON only) under ``key``; ``retention`` is ignored."""
        json.dumps(value)  # the real store keeps JSON
        self.data[key] = value

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self.data.pop(key, None)

    def clear(self) -> None:
        """Forget every key."""
        self.data.clear()


def at_any_push(key: str, value: Any) -> bool:
    """A ``crash_on`` condition: the worker dies at its first XCom push, whatever it pushes."""
    return True


def crash_at_run_id(key: str, value: Any) -> bool:
    """A ``crash_on`` condition: the worker dies right after the create call, at the push of the
    run id (before it could wait; the claim pushed before the create call goes through)."""
    return key == RUN_ID_XCOM_KEY


class FakeTI:
    """Records XCom pushes like a task instance; the identity fields feed idempotency keys
    (``None``: the operator falls back as it does without them).

    :param try_number: the try this task instance runs.
    :param map_index: its map index (``-1``: not mapped).
    :param dag_id: its DAG's id.
    :param run_id: its DAG run's id.
    :param task_id: its task's id.
    :param crash_on: ``(key, value) -> bool``: the worker is killed (``SystemExit``) at the first
        push it is true for, before the value is recorded (e.g. :func:`at_any_push`).
    """

    def __init__(
        self,
        try_number: int = 1,
        *,
        map_index: int = -1,
        dag_id: str | None = None,
        run_id: str | None = None,
        task_id: str | None = None,
        crash_on: Callable[[str, Any], bool] | None = None,
    ) -> None:
        self.try_number = try_number
        self.map_index, self.dag_id, self.run_id, self.task_id = map_index, dag_id, run_id, task_id
        self.crash_on = crash_on
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        """Record ``value`` under ``key`` (a value Airflow could not store as JSON fails here)."""
        json.dumps(value)
        if self.crash_on is not None and self.crash_on(key, value):
            raise SystemExit("worker killed")
        self.xcoms[key] = value


class XComTable:
    """The XCom table of one DAG run: every task instance of the run reads it."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int, str], object] = {}
        self.lock = threading.Lock()

    def start_try(self, task_id: str, map_index: int) -> None:
        """A new try of a task instance starts with its XComs deleted (as Airflow does)."""
        with self.lock:
            for key in [k for k in self.rows if k[:2] == (task_id, map_index)]:
                del self.rows[key]


class SiblingTI(FakeTI):
    """A task instance of a DAG run whose XComs other task instances can pull.

    :param table: the DAG run's XCom table.
    :param new_try: whether this is a new try (its XComs are deleted); a resume after a deferral
        is the same try: its XComs stay.

    The other arguments are :class:`FakeTI`'s.
    """

    def __init__(
        self,
        table: XComTable,
        try_number: int = 1,
        *,
        map_index: int = -1,
        task_id: str = "t",
        crash_on: Callable[[str, Any], bool] | None = None,
        dag_id: str = "dag",
        run_id: str = "manual__1",
        new_try: bool = True,
    ) -> None:
        super().__init__(
            try_number, map_index=map_index, dag_id=dag_id, run_id=run_id, task_id=task_id, crash_on=crash_on
        )
        self.table: XComTable = table
        if new_try:
            table.start_try(task_id, map_index)

    def xcom_push(self, key: str, value: Any) -> None:
        """Record ``value`` here and in the DAG run's table."""
        super().xcom_push(key, value)
        with self.table.lock:
            self.table.rows[(str(self.task_id), self.map_index, key)] = value

    def xcom_pull(self, task_ids: str | list[str] | None = None, key: str = "return_value", **kwargs: Any):
        """The values ``task_ids`` (default: this task) pushed under ``key``, in table order."""
        ids = [task_ids] if isinstance(task_ids, str) else list(task_ids or [str(self.task_id)])
        with self.table.lock:
            rows = sorted(self.table.rows.items())
        return [v for (t, _, k), v in rows if t in ids and k == key]


def task_context(ti: FakeTI, store: FakeStateStore | None = None, **entries: Any) -> dict[str, Any]:
    """A task context around ``ti``; pass the same ``store`` to simulate retries of one task
    instance (without one: the Airflow 3.1 path, which has no task state store).

    :param entries: further context entries (e.g. ``ds``).
    """
    context: dict[str, Any] = {"ti": ti, **entries}
    if store is not None:
        context["task_state_store"] = store
    return context


def make_context(
    try_number: int = 1, store: FakeStateStore | None = None, **ti_fields: Any
) -> dict[str, Any]:
    """A minimal task context whose task instance is a :class:`FakeTI` of ``try_number``.

    :param store: the task state store (see :func:`task_context`).
    :param ti_fields: the task instance's other :class:`FakeTI` arguments (identity, ``crash_on``).
    """
    return task_context(FakeTI(try_number, **ti_fields), store)


async def first_event(trigger, timeout: float = 60.0):
    """Run a trigger until its first event (what the triggerer does)."""
    gen = trigger.run()
    try:
        return await asyncio.wait_for(gen.__anext__(), timeout)
    finally:
        await gen.aclose()


def roundtrip(trigger):
    """Serialize a trigger as the triggerer stores it (JSON) and rebuild it."""
    path, kwargs = trigger.serialize()
    kwargs = json.loads(json.dumps(kwargs))
    return import_string(path)(**kwargs)


def run_deferrable(operator, context: dict[str, Any]):
    """execute -> TaskDeferred -> trigger (serialized round trip) -> execute_complete, like Airflow."""
    try:
        return operator.execute(context)
    except TaskDeferred as deferred:
        while True:
            trigger = roundtrip(deferred.trigger)
            event = asyncio.run(first_event(trigger))
            method = getattr(operator, deferred.method_name)
            try:
                return method(context, event=event.payload, **(deferred.kwargs or {}))
            except TaskDeferred as again:
                deferred = again
