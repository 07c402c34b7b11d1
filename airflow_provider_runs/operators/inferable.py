"""Run an Inferable agent from Airflow, with typed results and approvals."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any, ClassVar, Literal

from airflow_provider_runs.core.states import ActionNeeded, RunState, RunStatus, StopCondition
from airflow_provider_runs.hooks.base import RunsHook
from airflow_provider_runs.hooks.inferable import InferableHook, idempotency_id
from airflow_provider_runs.operators.base import BaseRunOperator, RunFailedError
from airflow_provider_runs.results import ResultSchema
from airflow_provider_runs.services import INFERABLE
from airflow_provider_runs.validation import templated_object
from airflow_provider_runs.waiting.approval import approved, ask_for_approval
from airflow_provider_runs.waiting.vocabulary import deprecated_argument, needs_action_policies

OnNeedsAction = Literal["wait", "fail", "ask"]
ON_NEEDS_ACTION = ("wait", "fail", "ask")
"""What the operator does with a run waiting for an approval (``on_needs_action``)."""
ON_PAUSED = ON_NEEDS_ACTION
"""Deprecated alias of :data:`ON_NEEDS_ACTION`."""
REASONS = (ActionNeeded.APPROVAL,)
"""Why an Inferable run needs action (the only one: an approval of a tool call)."""
MAX_GENERATIONS = 50
"""The most runs one task instance starts (each after the previous one failed)."""
FAILED_GRACE = 30.0
"""Seconds a ``failed`` run must stay ``failed`` before the task believes it.

``specs/inferable.md`` §3, transition 7: *"Transient `failed`: retryable infrastructure errors (DB,
provider 429/5xx) re-run processing (3 attempts total), so `failed` may flip back to `running`"*;
known unknown 5: *"optionally re-read once after a short delay before raising"*. The re-run is a
queue retry without a delay of its own, so a transient ``failed`` lasts seconds: 30 s (over at
least two reads) rides it out and costs a run that really failed 30 s
(:mod:`~airflow_provider_runs.waiting.hold`)."""


def read_on_needs_action(
    on_needs_action: Any, on_paused: Any, allowed: tuple[str, ...], *, default: str = "wait"
) -> str:
    """The approval policy of an Inferable task from ``on_needs_action`` (a policy, or
    ``{"APPROVAL": policy}``) or the deprecated ``on_paused`` (warned)."""
    if on_paused is not None:
        deprecated_argument("on_paused", "on_needs_action", stacklevel=4)
        if on_needs_action is not None:
            raise ValueError("give on_needs_action only (on_paused is its deprecated name)")
        on_needs_action = on_paused
    policies = needs_action_policies(on_needs_action, reasons=REASONS, allowed=allowed, default=default)
    return policies[ActionNeeded.APPROVAL]


class InferableTaskMixin:
    """What the Inferable operator and sensor share: the connection and cluster arguments, the
    typed hook, the stop condition of the approval policy (``on_needs_action``) and the hold of a
    ``failed`` status (``failed_grace``)."""

    hook_class: ClassVar[type[RunsHook]] = InferableHook
    """The service's hook class."""
    conn_id_field: ClassVar[str] = "inferable_conn_id"
    """Name of the connection argument."""
    inferable_conn_id: str
    cluster_id: str | None
    on_needs_action: str
    failed_grace: float

    @property
    def on_paused(self) -> str:
        """Deprecated name of :attr:`on_needs_action` (read only)."""
        return self.on_needs_action

    def hold_states(self) -> dict[RunState, float]:
        """A ``failed`` must hold for ``failed_grace`` seconds (see :data:`FAILED_GRACE`)."""
        return {RunState.FAILED: self.failed_grace} if self.failed_grace > 0 else {}

    @cached_property
    def hook(self) -> InferableHook:
        """The Inferable hook (with the task's cluster override)."""
        return InferableHook(self.inferable_conn_id, **self.hook_params())

    def hook_params(self) -> dict[str, Any]:
        """Pass the cluster override to the hook (and the trigger)."""
        return {"cluster_id": self.cluster_id} if self.cluster_id else {}

    def stop_on_states(self) -> Sequence[StopCondition]:
        """A run waiting for an approval ends the wait unless ``on_needs_action="wait"``: the task
        then fails (``"fail"``) or asks a human in Airflow (the operator's ``"ask"``)."""
        return () if self.on_needs_action == "wait" else (ActionNeeded.APPROVAL,)


class InferableRunOperator(InferableTaskMixin, BaseRunOperator):
    """Start an Inferable agent run and wait for its (validated) result.

    The run ``id`` is an idempotency key derived from the DAG, task, DAG run and map index, so a
    retried task reattaches to the same run instead of starting a second agent; only after a
    run *failed* does a retry start a new one. The task returns ``{"run_id", "status",
    "result", "url"}``; with a pydantic ``result_schema`` the result is validated by the model
    and returned as the model's JSON data.

    Inferable has no cancel endpoint: killing the task logs where the run keeps going; the run
    is never deleted (deleting does not stop the work and destroys its history).

    :param initial_prompt: what the agent should do. Templated.
    :param result_schema: a JSON schema dict (an object schema with properties) or a pydantic
        model class for the structured result.
    :param inferable_conn_id: the connection id (default ``inferable_default``). Templated.
    :param cluster_id: overrides the connection's cluster id. Templated.
    :param system_prompt: the system prompt. Templated.
    :param name: a display name of the run. Templated.
    :param input: data appended to the prompt. Templated.
    :param context: data copied to every tool call of the run. Templated.
    :param tools: tool names the agent may use (without it the agent has no tools). Templated.
    :param interactive: allow follow-up messages (default ``False``: nobody chats with a task).
    :param reasoning_traces: ask the model for a reasoning string per tool call.
    :param enable_result_grounding: ask the model to cite tool outputs.
    :param on_status_change: Inferable's status notification object (webhook, tool, ...). Templated.
    :param on_needs_action: what to do when the run waits for an approval: ``"wait"`` (someone
        approves in Inferable; the deadline still applies), ``"fail"``, or ``"ask"`` (ask a
        human in Airflow and send the answer to Inferable, then keep waiting); also as
        ``{"APPROVAL": policy}``.
    :param on_paused: deprecated name of ``on_needs_action``.
    :param failed_grace: seconds a ``failed`` run must stay ``failed`` before the task fails
        (Inferable may retry it: :data:`FAILED_GRACE`, 30 s; 0 believes the first ``failed``).
    :param approval_timeout: how long to wait for the human's answer with ``"ask"`` (the
        default answer is deny).
    :param inferable_run_id: use this run id instead of the derived idempotency key. Templated.
    """

    template_fields: Sequence[str] = (
        "initial_prompt",
        "system_prompt",
        "name",
        "input",
        "context",
        "tools",
        "inferable_run_id",
        "on_status_change",
        "inferable_conn_id",
        "cluster_id",
    )
    template_fields_renderers = {
        "input": "json",
        "context": "json",
        "initial_prompt": "md",
        "on_status_change": "json",
    }

    def __init__(
        self,
        *,
        initial_prompt: str,
        result_schema: Mapping[str, Any] | type | None = None,
        inferable_conn_id: str = INFERABLE.default_conn_id,
        cluster_id: str | None = None,
        system_prompt: str | None = None,
        name: str | None = None,
        input: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        tools: Sequence[str] | None = None,
        interactive: bool = False,
        reasoning_traces: bool | None = None,
        enable_result_grounding: bool | None = None,
        on_status_change: Mapping[str, Any] | None = None,
        on_needs_action: OnNeedsAction | Mapping[str, OnNeedsAction] | None = None,
        approval_timeout: timedelta | None = timedelta(hours=24),
        inferable_run_id: str | None = None,
        cancel_on_kill: bool = False,
        failed_grace: float = FAILED_GRACE,
        on_paused: OnNeedsAction | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(cancel_on_kill=cancel_on_kill, **kwargs)
        self.on_needs_action = read_on_needs_action(on_needs_action, on_paused, ON_NEEDS_ACTION)
        self.failed_grace = check_grace(failed_grace)
        self.result = ResultSchema.from_argument(result_schema)  # checks the schema now
        self.result_schema = result_schema
        self.initial_prompt = initial_prompt
        self.inferable_conn_id = inferable_conn_id
        self.cluster_id = cluster_id
        self.system_prompt = system_prompt
        self.name = name
        self.input = input
        self.context = context
        self.tools = tools
        self.interactive = interactive
        self.reasoning_traces = reasoning_traces
        self.enable_result_grounding = enable_result_grounding
        self.on_status_change = on_status_change
        self.approval_timeout = approval_timeout
        self.inferable_run_id = inferable_run_id

    def _run_fields(self, run_id: str | None) -> dict[str, Any]:
        """The ``create_run`` keyword arguments of this task (checked by ``build_run_body``)."""
        return dict(
            initial_prompt=self.initial_prompt,
            run_id=run_id,
            system_prompt=self.system_prompt,
            name=self.name,
            result_schema=self.result.json_schema if self.result else None,
            tools=self.tools,
            on_status_change=templated_object(self.on_status_change, "on_status_change"),
            input=templated_object(self.input, "input"),
            context=templated_object(self.context, "context"),
            reasoning_traces=self.reasoning_traces,
            interactive=self.interactive,
            enable_result_grounding=self.enable_result_grounding,
        )

    def validate_arguments(self) -> None:
        """Check the rendered arguments before any call."""
        InferableHook.build_run_body(**self._run_fields(self.inferable_run_id or "placeholder-id"))

    def submit(self, context: Any) -> str:
        """Create the run under its idempotency key (or reuse the live run holding it)."""
        if self.inferable_run_id:
            run = self.hook.create_run(**self._run_fields(self.inferable_run_id))
            return str(run.get("id") or self.inferable_run_id)
        ti = context["ti"]
        dag_id = getattr(ti, "dag_id", None) or self.dag_id
        run_id = getattr(ti, "run_id", None) or str(context.get("run_id"))
        map_index = getattr(ti, "map_index", -1)
        first = 1
        if self.previous_run_id and (match := re.search(r"\.g(\d+)$", self.previous_run_id)):
            first = int(match.group(1)) + 1  # the task succeeded and was cleared: a new run
        for generation in range(first, MAX_GENERATIONS + 1):
            key = idempotency_id(
                dag_id, self.task_id, run_id, map_index if isinstance(map_index, int) else -1, generation
            )
            existing = self.hook.find_run(key)
            if existing is not None and existing.get("status") == "failed":
                continue  # a failed earlier try: start afresh under the next key
            if existing is not None:
                self.log.info("Run %s already exists (status %s): reattaching.", key, existing.get("status"))
                return key
            run = self.hook.create_run(**self._run_fields(key))
            return str(run.get("id") or key)
        raise RunFailedError(f"{MAX_GENERATIONS} runs of this task instance failed; not starting another")

    def handle_status(self, context: Any, run_id: str, status: RunStatus) -> dict[str, Any] | None:
        """Validate a result; act on a run waiting for an approval per ``on_needs_action``; fail with the
        reason otherwise."""
        if status.state is RunState.NEEDS_ACTION and status.action is ActionNeeded.APPROVAL:
            self._on_approval(context, run_id, status)
            return None
        if status.state is not RunState.SUCCEEDED:
            run = self.hook.find_run(run_id) or {}
            failure = self.failure(run_id, status)
            if run.get("result") is not None:
                failure = RunFailedError(
                    f"{failure}; the run has a result: {json.dumps(run['result'])[:500]}"
                )
            raise failure
        return self.build_manifest(context, run_id, status)

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """Read the run once; validate the result against the schema."""
        return run_manifest(self.hook, run_id, self.result, validate=status is not None)

    def _on_approval(self, context: Any, run_id: str, status: RunStatus) -> None:
        """Fail (``on_needs_action="fail"``) or ask a human in Airflow (``"ask"``) about the approval."""
        job_id = status.details.get("job_id")
        if self.on_needs_action == "fail":
            raise self.failure(run_id, status, what="waits for an approval and on_needs_action='fail'")
        subject = f"Inferable run {run_id} asks to call {status.details.get('tool')!r}"
        body = (
            f"The agent wants to call the tool **{status.details.get('tool')}** with:\n\n"
            f"```json\n{json.dumps(status.details.get('tool_input'), indent=2, default=str)[:4000]}\n```\n\n"
            f"Run: {self.run_url(run_id)}"
        )
        self.log.info("%s: asking for approval in Airflow.", subject)
        ask_for_approval(
            self,
            context,
            subject=subject,
            body=body,
            method_name="after_approval",
            kwargs={"run_id": run_id, "job_id": job_id, "deadline": self.try_deadline()},
            timeout=self.approval_timeout,
        )
        return None

    def after_approval(
        self,
        context: Any,
        event: Any = None,
        run_id: str = "",
        job_id: str = "",
        deadline: float | None = None,
    ) -> Any:
        """Send the human's answer to Inferable, then keep waiting for the run (until the try's
        ``deadline``: the time spent waiting for the human counts, the clock does not restart)."""
        if deadline is not None:
            self.keep_deadline(deadline)
        decision = approved(event)
        self.hook.answer_approval(job_id, decision)
        self.log.info(
            "Sent %s of job %s to Inferable; waiting for run %s.",
            "approval" if decision else "denial",
            job_id,
            run_id,
        )
        self._publish(context, run_id)
        return self.wait(context, run_id)


def check_grace(value: Any) -> float:
    """``failed_grace`` checked: seconds, at least 0 (at most a day); else a ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 86400:
        raise ValueError(f"failed_grace must be between 0 and 86400 seconds; got {value!r}")
    return float(value)


def run_manifest(
    hook: InferableHook, run_id: str, result_schema: ResultSchema | None, *, validate: bool = True
) -> dict[str, Any]:
    """``{"run_id", "status", "url", "result"}``; the result validated against ``result_schema``.

    A result that does not match fails the task with the validation errors and the run URL.
    """
    run = hook.get_run(run_id)
    url = hook.run_url(run_id)
    result = run.get("result")
    if validate and result_schema is not None:
        errors = result_schema.errors(result)
        if errors:
            raise RunFailedError(
                f"Inferable run {run_id} returned a result that does not match result_schema: "
                f"{'; '.join(errors)}. Run: {url}"
            )
        result = result_schema.to_xcom(result)
    return {"run_id": run_id, "status": run.get("status"), "url": url, "result": result if validate else None}
