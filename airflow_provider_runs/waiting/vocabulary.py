"""One vocabulary for what a task does when its run needs action or was cancelled.

- ``on_needs_action``: what to do when the run pauses and waits for someone
  (:attr:`~airflow_provider_runs.core.states.RunState.NEEDS_ACTION`), by reason
  (:class:`~airflow_provider_runs.core.states.ActionNeeded`). One policy for every reason
  (``"fail"``), or one per reason (``{"BLOCKED": "resume", "STOPPED": "wait"}``; a reason left out
  takes the default). Every operator and sensor takes ``"wait"`` and ``"fail"``; some take more
  (Inferable's operator ``"ask"``, Edges' operator ``"resume"``).
- ``on_cancelled``: what to do when the run ends ``CANCELLED``: ``"fail"`` (default) or ``"skip"``.

The names this replaces keep working for one release with an ``AirflowProviderDeprecationWarning``:
``on_paused`` (Inferable: approvals; Edges sensor: ``BLOCKED``/``STOPPED``) and the Edges
operator's ``on_blocked`` / ``on_stopped``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from airflow.exceptions import AirflowProviderDeprecationWarning

from airflow_provider_runs.core.states import ActionNeeded

ON_NEEDS_ACTION = "on_needs_action"
"""The argument's name."""
ON_CANCELLED_POLICIES = ("fail", "skip")
"""What ``on_cancelled`` takes."""

NeedsActionPolicy = str | Mapping[str | ActionNeeded, str]
"""An ``on_needs_action`` value: one policy, or one per :class:`ActionNeeded` reason."""


def deprecated_argument(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that argument ``old`` is deprecated for ``new`` (an ``AirflowProviderDeprecationWarning``)."""
    warnings.warn(
        f"{old} is deprecated and will be removed in a future release; use {new} instead.",
        AirflowProviderDeprecationWarning,
        stacklevel=stacklevel,
    )


def needs_action_policies(
    value: Any,
    *,
    reasons: Iterable[ActionNeeded],
    allowed: Iterable[str],
    default: str,
    arg: str = ON_NEEDS_ACTION,
) -> dict[ActionNeeded, str]:
    """``on_needs_action`` read as one policy per reason.

    :param value: a policy (every reason), a mapping of reason names to policies, or ``None``
        (``default`` for every reason).
    :param reasons: the reasons the task's service pauses for.
    :param allowed: the policies the task takes.
    :param default: the policy of a reason ``value`` leaves out.
    :param arg: the argument's name, in errors.
    :raises ValueError: naming the argument, for an unknown policy or reason.
    """
    reasons, allowed = tuple(reasons), tuple(allowed)
    names = ", ".join(r.value for r in reasons)
    if value is None:
        value = default
    if isinstance(value, str):
        if value not in allowed:
            raise ValueError(f"{arg} must be one of {', '.join(allowed)}; got {value!r}")
        return dict.fromkeys(reasons, value)
    if not isinstance(value, Mapping):
        raise ValueError(f"{arg} must be a policy ({', '.join(allowed)}) or a mapping of {names} to one")
    policies = dict.fromkeys(reasons, default)
    for key, policy in value.items():
        reason = key if isinstance(key, ActionNeeded) else ActionNeeded.__members__.get(str(key).upper())
        if reason not in reasons:
            raise ValueError(f"{arg} takes the reasons {names}; got {key!r}")
        if policy not in allowed:
            raise ValueError(f"{arg}[{reason.value!r}] must be one of {', '.join(allowed)}; got {policy!r}")
        policies[reason] = policy
    return policies


def check_on_cancelled(value: Any) -> str:
    """``on_cancelled`` checked: ``"fail"`` or ``"skip"``; else a ``ValueError`` naming it."""
    if value not in ON_CANCELLED_POLICIES:
        raise ValueError(f"on_cancelled must be one of {', '.join(ON_CANCELLED_POLICIES)}; got {value!r}")
    return str(value)
