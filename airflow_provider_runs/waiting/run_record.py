"""What a task instance remembers about its remote run across retries.

On Airflow 3.3+ the record lives in the task state store (``context["task_state_store"]``),
which survives retries and user clears of the same task instance. Older Airflow versions have
no such store: :func:`task_state_store` returns ``None`` and operators fall back to looking
their run up at the service.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_runs.validation import parse_timestamp

RECORD_KEY = "airflow_provider_runs.run"


@dataclass
class RunRecord:
    """The remote run a task instance created, or is creating.

    :param run_id: the remote run id; ``None`` while the create call is in flight.
    :param submitted_at: ISO time the create call started (bounds the look-up after a crash).
    :param try_number: the try that created the run.
    :param completed: the task succeeded with this run (a later try is a user clear: new run).
    """

    run_id: str | None
    submitted_at: str
    try_number: int
    completed: bool = False

    @classmethod
    def from_value(cls, value: Any) -> RunRecord | None:
        """Parse a stored value; anything unreadable (its time too) counts as no record."""
        if not isinstance(value, dict) or not isinstance(value.get("submitted_at"), str):
            return None
        try:
            parse_timestamp(value["submitted_at"])
        except ValueError:
            return None
        run_id = value.get("run_id")
        return cls(
            run_id=str(run_id) if run_id else None,
            submitted_at=value["submitted_at"],
            try_number=int(value.get("try_number") or 0),
            completed=bool(value.get("completed")),
        )

    @property
    def submitted_datetime(self) -> datetime:
        """``submitted_at`` as an aware datetime."""
        return parse_timestamp(self.submitted_at)


def utcnow_iso() -> str:
    """The current time as an ISO string with UTC offset."""
    return datetime.now(timezone.utc).isoformat()


def task_state_store(context: Any) -> Any | None:
    """The task state store (Airflow 3.3+), or ``None``."""
    try:
        return context.get("task_state_store")
    except AttributeError:
        return None


def load_record(context: Any) -> RunRecord | None:
    """Read this task instance's run record, if the store exists and holds one."""
    store = task_state_store(context)
    if store is None:
        return None
    return RunRecord.from_value(store.get(RECORD_KEY))


def save_record(context: Any, record: RunRecord) -> None:
    """Write this task instance's run record (no-op without a store)."""
    store = task_state_store(context)
    if store is not None:
        store.set(RECORD_KEY, asdict(record))


def mark_completed(context: Any, run_id: str) -> None:
    """Record that the task succeeded with ``run_id`` (a later clear starts a new run)."""
    record = load_record(context)
    if record is not None and record.run_id == run_id:
        save_record(context, RunRecord(run_id, record.submitted_at, record.try_number, completed=True))


def earliest_start(context: Any) -> datetime:
    """When the task instance's DAG run started: the earliest an earlier try can have created a
    run or sent a message (the look-up bound without a state store, Airflow < 3.3). A day ago when
    the context has no DAG run with a time."""
    dag_run = context.get("dag_run") if hasattr(context, "get") else None
    for attr in ("start_date", "run_after", "logical_date", "queued_at"):
        value = getattr(dag_run, attr, None)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc) - timedelta(days=1)
