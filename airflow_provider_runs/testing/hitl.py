"""Answer Airflow human-in-the-loop requests from a background thread (tests and the demo).

Plays the human: it watches the metadata DB for open requests and answers them through the
same code path as the REST endpoint ``PATCH .../hitlDetails``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any


@dataclass
class _User:
    """The minimal user object the HITL endpoint needs."""

    id: str = "demo-approver"
    name: str = "Demo approver"

    def get_id(self) -> str:
        return self.id

    def get_name(self) -> str:
        return self.name


@dataclass
class HumanInTheLoopResponder:
    """Answer every open HITL request with ``choice`` until stopped.

    :param choice: the option to choose, e.g. ``"Approve"`` or ``"Deny"``.
    :param poll_interval: seconds between two looks at the DB.
    :param settle_seconds: how old a request must be before it is answered (and how long an
        answered task may stay parked before it is resumed again).
    """

    choice: str = "Approve"
    poll_interval: float = 0.3
    settle_seconds: float = 1.0
    answered: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    resumed_again: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="hitl-responder")

    def __enter__(self) -> HumanInTheLoopResponder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.answer_open_requests()
            except Exception as exc:  # keep playing the human; report at the end
                self.errors.append(f"{type(exc).__name__}: {exc}")
                if len(self.errors) <= 3:  # visible in CI logs when an answer cannot be given
                    import traceback

                    traceback.print_exc()
            time.sleep(self.poll_interval)

    def answer_open_requests(self) -> int:
        """Answer what is open now; return how many requests were answered.

        A request is answered once it is ``settle_seconds`` old (no human answers within
        milliseconds, and ``dag.test()`` may still be finishing the park). A task that is still
        parked a while after its request was answered (its park overwrote the resume) is
        resumed again with the recorded answer.
        """
        from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
        from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.models.trigger import handle_event_submit
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session
        from sqlalchemy import select

        count = 0
        settled = datetime.now(timezone.utc) - timedelta(seconds=self.settle_seconds)
        with create_session(scoped=False) as session:  # fresh per look: no stale task instance state
            parked = (
                select(HITLDetail, TaskInstance)
                .join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
                # answer only parked tasks: a response written before the task parks is not
                # picked up by dag.test() (the API server's park transition would). On 3.3 that
                # is awaiting_input only: the request row is written while the resumed task is
                # still "deferred" in dag.test().
                .where(TaskInstance.state == _parked_state())
            )
            rows = session.execute(
                parked.where(HITLDetail.responded_at.is_(None)).where(HITLDetail.created_at <= settled)
            ).all()
            for detail, ti in rows:
                update_hitl_detail(
                    dag_id=ti.dag_id,
                    dag_run_id=ti.run_id,
                    task_id=ti.task_id,
                    update_hitl_detail_payload=UpdateHITLDetailPayload(
                        chosen_options=[self.choice], params_input={}
                    ),
                    user=_User(),  # type: ignore[arg-type]  # a stand-in with the fields read
                    session=session,
                    map_index=ti.map_index,
                )
                self.answered.append(
                    {"task_id": ti.task_id, "subject": detail.subject, "choice": self.choice}
                )
                count += 1
            overwritten = session.execute(
                parked.where(HITLDetail.responded_at.is_not(None)).where(HITLDetail.responded_at <= settled)
            ).all()
            for detail, ti in overwritten:
                handle_event_submit(
                    TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session
                )
                self.resumed_again += 1
        return count


def _parked_state() -> str:
    """The state of a task waiting for a human: ``awaiting_input`` (3.3+) or ``deferred``
    (3.1-3.2, where the standard provider's ``HITLTrigger`` waits)."""
    from airflow.sdk import exceptions

    return "awaiting_input" if hasattr(exceptions, "TaskAwaitingInput") else "deferred"
