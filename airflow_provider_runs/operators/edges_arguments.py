"""The Edges operator's argument checks: its options when the DAG is parsed, its (rendered) inputs
before any call. Every failure is a ``ValueError`` naming the argument."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_runs.core.states import ActionNeeded
from airflow_provider_runs.hooks.edges_requests import ASSUMPTIONS, InputsTooManyError, check_input
from airflow_provider_runs.inputs import InputSource
from airflow_provider_runs.waiting.vocabulary import deprecated_argument, needs_action_policies

MODES = ("live", "async", "schedule")
PARTIAL_POLICIES = ("fail", "succeed", "skip")
PAUSED_POLICIES = ("fail", "resume", "wait")
"""What the operator does with a BLOCKED or STOPPED run (``on_needs_action``)."""
PAUSE_ACTIONS = (ActionNeeded.BLOCKED, ActionNeeded.STOPPED)
"""Why an Edges run needs action: BLOCKED or STOPPED (both resumable)."""


def read_needs_action(
    on_needs_action: Any,
    *,
    on_blocked: Any = None,
    on_stopped: Any = None,
    allowed: tuple[str, ...] = PAUSED_POLICIES,
    on_paused: Any = None,
) -> dict[ActionNeeded, str]:
    """The policy per reason (BLOCKED, STOPPED) of an Edges task, ``"fail"`` by default.

    :param on_needs_action: a policy for both, or ``{"BLOCKED": ..., "STOPPED": ...}``.
    :param on_blocked: deprecated (warned): the BLOCKED policy.
    :param on_stopped: deprecated (warned): the STOPPED policy.
    :param allowed: the policies the task takes.
    :param on_paused: deprecated (warned; the sensor's old name): the policy of both.
    """
    old: dict[str, Any] = {}
    for name, value, reasons in (
        ("on_paused", on_paused, PAUSE_ACTIONS),
        ("on_blocked", on_blocked, (ActionNeeded.BLOCKED,)),
        ("on_stopped", on_stopped, (ActionNeeded.STOPPED,)),
    ):
        if value is not None:
            deprecated_argument(name, "on_needs_action", stacklevel=4)
            old.update(dict.fromkeys((r.value for r in reasons), value))
    if old:
        if on_needs_action is not None:
            raise ValueError(
                "give on_needs_action only (on_paused, on_blocked and on_stopped are deprecated)"
            )
        on_needs_action = old
    return needs_action_policies(on_needs_action, reasons=PAUSE_ACTIONS, allowed=allowed, default="fail")


def check_options(
    *,
    mode: Any,
    partial_success: Any,
    max_resumes: Any,
    max_pages: Any,
    max_inputs_per_run: Any,
) -> None:
    """Check the options of :class:`~airflow_provider_runs.operators.edges.EdgesActionOperator`."""
    most = ASSUMPTIONS["max_async_inputs"]
    if not isinstance(max_inputs_per_run, int) or not 1 <= max_inputs_per_run <= most:
        raise ValueError(f"max_inputs_per_run must be between 1 and {most:,}")
    if mode not in MODES:
        raise ValueError(f"mode must be live, async or schedule; got {mode!r}")
    if partial_success not in PARTIAL_POLICIES:
        raise ValueError(
            f"partial_success must be one of {', '.join(PARTIAL_POLICIES)}; got {partial_success!r}"
        )
    if not isinstance(max_resumes, int) or max_resumes < 0:
        raise ValueError(f"max_resumes must be a non-negative integer; got {max_resumes!r}")
    if not isinstance(max_pages, int) or max_pages < 1:
        raise ValueError(f"max_pages must be a positive integer; got {max_pages!r}")


def input_source(inputs: Any, inputs_path: str | None) -> InputSource:
    """Where a batch's inputs come from: a list (or its JSON text, from a template) or a file.

    :param inputs: the ``inputs`` argument.
    :param inputs_path: the ``inputs_path`` argument.
    """
    if isinstance(inputs, str):
        try:
            inputs = json.loads(inputs)
        except ValueError:
            raise ValueError("inputs must be a list of JSON objects; got a string that is not JSON") from None
    return InputSource(items=inputs, path=inputs_path)


def check_live_input(input: Any, inputs: Any, inputs_path: str | None) -> None:
    """Live mode takes one ``input`` (a JSON object) and neither ``inputs`` nor ``inputs_path``."""
    if inputs is not None or inputs_path:
        raise ValueError('mode="live" takes one input: use input=..., not inputs or inputs_path')
    if not isinstance(input, Mapping):
        raise ValueError('mode="live" needs input=<a JSON object>')
    check_input(input, "input")


def count_batch_inputs(
    mode: str, input: Any, inputs: Any, inputs_path: str | None, *, split_inputs: bool
) -> int:
    """Check and count an async or scheduled batch's inputs (a file is read through once).

    :param mode: ``async`` or ``schedule``.
    :param input: the ``input`` argument (refused here).
    :param inputs: the ``inputs`` argument.
    :param inputs_path: the ``inputs_path`` argument (exactly one of the two).
    :param split_inputs: whether an async batch may be split into several runs.
    """
    if input is not None:
        raise ValueError(f'mode="{mode}" takes inputs (a list) or inputs_path, not input')
    if (inputs is None) == (not inputs_path):
        raise ValueError(f'mode="{mode}" needs exactly one of inputs or inputs_path')
    limit = ASSUMPTIONS["max_async_inputs"] if mode == "async" else ASSUMPTIONS["max_schedule_inputs"]
    count = input_source(inputs, inputs_path).count()
    if count < 1:
        raise ValueError("inputs is empty: a run needs at least one input")
    if count > limit and not (mode == "async" and split_inputs):
        hint = " (pass split_inputs=True to run them as several runs)" if mode == "async" else ""
        raise InputsTooManyError(f"{mode} mode takes at most {limit:,} inputs per run; got {count:,}{hint}")
    return count
