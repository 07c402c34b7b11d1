"""Test doubles for the Airflow task context (pure data, no patching of HTTP)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

from airflow.providers.common.compat.module_loading import import_string
from airflow.providers.common.compat.sdk import TaskDeferred

TEST_KEY = "inf_TESTKEY_0123456789abcdef"
"""A recognizable API key: tests assert it appears nowhere."""


class FakeStateStore:
    """A dict-backed ``task_state_store`` (Airflow 3.3 semantics: survives retries)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        json.dumps(value)  # the real store keeps JSON
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def clear(self) -> None:
        self.data.clear()


class FakeTI:
    """Records XCom pushes like a task instance; the identity fields feed idempotency keys
    (``None``: the operator falls back as it does without them)."""

    def __init__(
        self,
        try_number: int = 1,
        *,
        map_index: int = -1,
        dag_id: str | None = None,
        run_id: str | None = None,
        task_id: str | None = None,
    ) -> None:
        self.try_number = try_number
        self.map_index, self.dag_id, self.run_id, self.task_id = map_index, dag_id, run_id, task_id
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        json.dumps(value)
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
    """A task instance of a DAG run whose XComs other task instances can pull."""

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
        super().__init__(try_number, map_index=map_index, dag_id=dag_id, run_id=run_id, task_id=task_id)
        self.table, self.crash_on = table, crash_on
        if new_try:  # a resume after a deferral is the same try: its XComs stay
            table.start_try(task_id, map_index)

    def xcom_push(self, key, value):
        json.dumps(value)
        if self.crash_on is not None and self.crash_on(key, value):
            raise SystemExit("worker killed")
        self.xcoms[key] = value
        with self.table.lock:
            self.table.rows[(self.task_id, self.map_index, key)] = value

    def xcom_pull(self, task_ids=None, key="return_value", **kwargs):
        ids = [task_ids] if isinstance(task_ids, str) else list(task_ids or [self.task_id])
        with self.table.lock:
            rows = sorted(self.table.rows.items())
        return [v for (t, _, k), v in rows if t in ids and k == key]


def make_context(try_number: int = 1, store: FakeStateStore | None = None) -> dict[str, Any]:
    """A minimal task context; pass the same ``store`` to simulate retries of one task instance."""
    context: dict[str, Any] = {"ti": FakeTI(try_number)}
    if store is not None:
        context["task_state_store"] = store
    return context


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
