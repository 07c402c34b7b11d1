"""Ask a human in Airflow (human-in-the-loop), on every supported Airflow version.

Airflow 3.3+ parks the task in ``awaiting_input`` (``TaskAwaitingInput``: no trigger); 3.1-3.2
defer to the standard provider's ``HITLTrigger``. Either way the operator resumes in
``method_name`` with ``event`` = ``{"chosen_options": [...], ...}`` or an ``"error"`` event.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

APPROVE = "Approve"
DENY = "Deny"


def ask_for_approval(
    operator: Any,
    context: Any,
    *,
    subject: str,
    body: str,
    method_name: str,
    kwargs: dict[str, Any],
    timeout: timedelta | None,
) -> None:
    """Create the question and suspend the task until someone answers (never returns)."""
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS
    from airflow.sdk.execution_time.hitl import upsert_hitl_detail

    ti_id = context["task_instance"].id if "task_instance" in context else context["ti"].id
    upsert_hitl_detail(
        ti_id=ti_id,
        options=[APPROVE, DENY],
        subject=subject,
        body=body,
        defaults=[DENY],
        multiple=False,
        params={},
    )
    if AIRFLOW_V_3_3_PLUS:
        from airflow.sdk.exceptions import TaskAwaitingInput

        raise TaskAwaitingInput(method_name=method_name, kwargs=kwargs, timeout=timeout)
    from airflow.providers.standard.triggers.hitl import HITLTrigger

    operator.defer(
        trigger=HITLTrigger(
            ti_id=ti_id,
            options=[APPROVE, DENY],
            defaults=[DENY],
            params={},
            multiple=False,
            timeout_datetime=None if timeout is None else datetime.now(timezone.utc) + timeout,
        ),
        method_name=method_name,
        kwargs=kwargs,
    )


def approved(event: Any) -> bool:
    """Whether a human-in-the-loop event is an approval (a timeout applies the default: deny)."""
    if not isinstance(event, dict) or "error" in event:
        return False
    return list(event.get("chosen_options") or []) == [APPROVE]
